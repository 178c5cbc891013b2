//! Listing with pagination: one request never asks the API server for more
//! than a page, so a cluster of 100,000 objects is read in bounded steps
//! instead of one response the server must build (and may time out on).

use kube::Api;
use kube::api::ListParams;
use serde::de::DeserializeOwned;

use crate::{Cluster, Error};

/// Objects per request, as kubectl's own default chunk size.
pub const PAGE: u32 = 500;

/// Every object of `api`, page by page, each passed to `each` as it comes.
///
/// # Errors
/// When a page fails or times out.
pub async fn list_each<K>(cluster: &Cluster, api: &Api<K>, what: &str, each: impl FnMut(K)) -> Result<(), Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    list_each_with(cluster, api, what, ListParams::default(), each).await
}

/// [`list_each`] with `params` (a label selector), paged all the same.
///
/// # Errors
/// As [`list_each`].
pub async fn list_each_with<K>(
    cluster: &Cluster,
    api: &Api<K>,
    what: &str,
    params: ListParams,
    mut each: impl FnMut(K),
) -> Result<(), Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut params = params.limit(PAGE);
    loop {
        let page = cluster.call(what, api.list(&params)).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        page.items.into_iter().for_each(&mut each);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Every object of `api`, page by page.
///
/// # Errors
/// As [`list_each`].
pub async fn list_all<K>(cluster: &Cluster, api: &Api<K>, what: &str) -> Result<Vec<K>, Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    list_each(cluster, api, what, |k| out.push(k)).await?;
    Ok(out)
}
