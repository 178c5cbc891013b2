//! Every object of a cluster, cleaned for another cluster: each served
//! resource listed page by page (several resources at once), each object
//! handed over as its page arrives, so memory holds pages, not the cluster.

use futures::StreamExt;
use kube::Api;
use kube::api::{DynamicObject, ListParams};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::clean::{LeftOut, clean, is_cluster_state};
use crate::discovery::Served;
use crate::list::PAGE;
use crate::{Cluster, Error, cause};

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Only these namespaces (and no cluster-scoped objects); empty: all.
    pub namespaces: Vec<String>,
    /// Resources listed at once.
    pub parallel: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { namespaces: Vec::new(), parallel: 8 }
    }
}

/// One object of the export, cleaned.
#[derive(Debug, Clone)]
pub struct Exported<'r> {
    /// Its resource.
    pub served: &'r Served,
    /// The object, `apiVersion` and `kind` included.
    pub object: Value,
}

/// A resource that could not be listed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `deployments.apps`.
    pub resource: String,
    /// The server's answer, in words.
    pub why: String,
}

/// What an export went through.
#[derive(Debug, Clone, Default)]
pub struct ExportSummary {
    /// Objects handed over.
    pub objects: usize,
    /// Objects left out, counted by reason.
    pub left_out: std::collections::BTreeMap<LeftOut, usize>,
    /// Resources left out as one cluster's own state (`nodes`, `events`, …).
    pub cluster_state: Vec<String>,
    /// Resources that could not be listed.
    pub skipped: Vec<Skipped>,
}

/// A page of one resource, or its failure.
enum Message {
    Page(usize, Vec<DynamicObject>),
    Failed(usize, Error),
}

/// Lists every resource of `resources` on `cluster` and hands each cleaned
/// object to `each` as its page arrives. A resource that cannot be listed
/// (forbidden, an aggregated API that is down) is skipped and reported; the
/// rest go on.
pub async fn export_each(
    cluster: &Cluster,
    resources: &[Served],
    options: &ExportOptions,
    mut each: impl FnMut(Exported<'_>),
) -> ExportSummary {
    let mut summary = ExportSummary::default();
    let mut wanted = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        if is_cluster_state(&r.resource.group, &r.resource.plural) {
            summary.cluster_state.push(r.name());
        } else if options.namespaces.is_empty() || r.namespaced {
            wanted.push(i);
        }
    }
    // Bounded: listing waits while the consumer (a writer, a repository) catches up.
    let (tx, mut rx) = mpsc::channel::<Message>(options.parallel.max(1) * 2);
    let producer = async move {
        futures::stream::iter(wanted)
            .for_each_concurrent(options.parallel.max(1), |i| {
                let tx = tx.clone();
                async move {
                    let served = &resources[i];
                    let scopes: Vec<Option<&str>> = if options.namespaces.is_empty() {
                        vec![None]
                    } else {
                        options.namespaces.iter().map(|n| Some(n.as_str())).collect()
                    };
                    for ns in scopes {
                        let api: Api<DynamicObject> = match ns {
                            Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &served.resource),
                            None => Api::all_with(cluster.client.clone(), &served.resource),
                        };
                        if let Err(e) =
                            list_pages(cluster, &api, served, None, |page| tx.send(Message::Page(i, page))).await
                        {
                            let _ = tx.send(Message::Failed(i, e)).await;
                            return;
                        }
                    }
                }
            })
            .await;
    };
    let consumer = async {
        while let Some(message) = rx.recv().await {
            match message {
                Message::Page(i, page) => {
                    let served = &resources[i];
                    for object in page {
                        let Some(object) = with_type(object, served) else { continue };
                        match clean(object, &served.resource.group, &served.resource.kind) {
                            Ok(object) => {
                                summary.objects += 1;
                                each(Exported { served, object });
                            }
                            Err(why) => *summary.left_out.entry(why).or_default() += 1,
                        }
                    }
                }
                // Gone since discovery (a definition deleted while the
                // export ran): nothing of it is left to export, and no
                // part of the export failed.
                Message::Failed(i, Error::Api { source: kube::Error::Api(status), .. }) if status.code == 404 => {
                    tracing::debug!(resource = %resources[i].name(), "no longer served: left out");
                }
                Message::Failed(i, e) => summary.skipped.push(Skipped {
                    resource: resources[i].name(),
                    why: match &e {
                        Error::Api { source, .. } => cause(source),
                        other => other.to_string(),
                    },
                }),
            }
        }
    };
    tokio::join!(producer, consumer);
    summary.skipped.sort_by(|a, b| a.resource.cmp(&b.resource));
    summary.cluster_state.sort();
    summary
}

/// Lists one resource page by page, sending each page on.
async fn list_pages<F, Fut>(
    cluster: &Cluster,
    api: &Api<DynamicObject>,
    served: &Served,
    labels: Option<&kube::core::Selector>,
    mut send: F,
) -> Result<(), Error>
where
    F: FnMut(Vec<DynamicObject>) -> Fut,
    Fut: std::future::Future<Output = Result<(), mpsc::error::SendError<Message>>>,
{
    let what = format!("list {}", served.name());
    let mut params = ListParams::default().limit(PAGE);
    if let Some(labels) = labels {
        params = params.labels_from(labels);
    }
    loop {
        let page = cluster.call(&what, api.list(&params)).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        if send(page.items).await.is_err() {
            return Ok(());
        }
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// Every object of one resource (in `namespaces`, or all; with `labels`,
/// only those the API server finds them to match), cleaned, in the API
/// server's order, and how many were left out and why. For consumers
/// that need whole resources in turn (a backup writes them in path order).
///
/// # Errors
/// When the resource cannot be listed.
pub async fn list_clean(
    cluster: &Cluster,
    served: &Served,
    namespaces: &[String],
    labels: Option<&kube::core::Selector>,
) -> Result<(Vec<Value>, std::collections::BTreeMap<LeftOut, usize>), Error> {
    let scopes: Vec<Option<&str>> =
        if namespaces.is_empty() { vec![None] } else { namespaces.iter().map(|n| Some(n.as_str())).collect() };
    let mut objects = Vec::new();
    let mut left_out = std::collections::BTreeMap::new();
    for ns in scopes {
        let api: Api<DynamicObject> = match ns {
            Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, &served.resource),
            None => Api::all_with(cluster.client.clone(), &served.resource),
        };
        let mut pages = Vec::new();
        list_pages(cluster, &api, served, labels, |page| {
            pages.push(page);
            std::future::ready(Ok(()))
        })
        .await?;
        for object in pages.into_iter().flatten().filter_map(|o| with_type(o, served)) {
            match clean(object, &served.resource.group, &served.resource.kind) {
                Ok(o) => objects.push(o),
                Err(why) => *left_out.entry(why).or_default() += 1,
            }
        }
    }
    Ok((objects, left_out))
}

/// The object as JSON with its `apiVersion` and `kind` (list items come without).
fn with_type(object: DynamicObject, served: &Served) -> Option<Value> {
    let mut value = serde_json::to_value(object).ok()?;
    let map = value.as_object_mut()?;
    // apiVersion and kind first, as people write them.
    let mut ordered = serde_json::Map::new();
    ordered.insert("apiVersion".into(), Value::String(served.resource.api_version.clone()));
    ordered.insert("kind".into(), Value::String(served.resource.kind.clone()));
    for (k, v) in std::mem::take(map) {
        if k != "apiVersion" && k != "kind" {
            ordered.insert(k, v);
        }
    }
    Some(Value::Object(ordered))
}
