//! Each app's objects as each of its clusters gets them: the base manifests,
//! with an overlay's object replacing the base object of the same group,
//! kind, namespace and name ([`ObjectKey`]) on the clusters the overlay
//! selects. `bulkhead plan` renders the same way.

use bulkhead_model::Fleet;
use bulkhead_model::manifest::{Manifest, ObjectKey};
use bulkhead_model::spec::{App, Cluster};

use crate::objects::{Object, Origin, Source};

/// One app, typed.
#[derive(Debug)]
pub struct AppObjects<'f> {
    /// The app as fleet.yaml declares it.
    pub app: &'f App,
    /// The clusters its placement selects, in fleet order.
    pub clusters: Vec<&'f Cluster>,
    /// Every object of its base and overlays.
    pub objects: Vec<Object<'f>>,
    /// Clusters that get the same objects, with those objects (indexes into `objects`).
    pub variants: Vec<Variant>,
}

/// Clusters that get the same set of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The clusters, by name.
    pub clusters: Vec<String>,
    /// The objects they get, by index.
    pub objects: Vec<usize>,
}

fn typed<'f>(m: &'f Manifest, namespace: Option<&str>) -> Object<'f> {
    Object::new(Source::Yaml(&m.node), namespace, Origin::Manifest { file: m.file.clone(), node: &m.node })
}

impl<'f> AppObjects<'f> {
    /// Types every app of a loaded fleet.
    pub fn of_fleet(fleet: &'f Fleet) -> Vec<Self> {
        let all = &fleet.file.spec.clusters;
        let index = bulkhead_model::spec::ClusterIndex::new(all);
        fleet
            .file
            .spec
            .apps
            .iter()
            .zip(&fleet.apps)
            .map(|(app, manifests)| {
                let ns = app.namespace.as_deref();
                let clusters: Vec<&Cluster> =
                    index.select(all, &app.placement.clusters).into_iter().map(|i| &all[i]).collect();
                let mut objects: Vec<Object<'f>> = manifests.base.iter().map(|m| typed(m, ns)).collect();
                let mut keys: Vec<ObjectKey> = manifests.base.iter().map(|m| m.key(ns)).collect();
                let base_count = objects.len();
                let mut overlay_ranges = Vec::new();
                for overlay in &manifests.overlays {
                    let start = objects.len();
                    objects.extend(overlay.iter().map(|m| typed(m, ns)));
                    keys.extend(overlay.iter().map(|m| m.key(ns)));
                    overlay_ranges.push(start..objects.len());
                }
                let variants = variants(app, &clusters, &keys, base_count, &overlay_ranges);
                Self { app, clusters, objects, variants }
            })
            .collect()
    }

    /// An app's objects read from a live cluster: one variant, that cluster.
    pub fn live(app: &'f App, cluster: &'f Cluster, objects: Vec<Object<'f>>) -> Self {
        let all = (0..objects.len()).collect();
        Self {
            app,
            clusters: vec![cluster],
            variants: vec![Variant { clusters: vec![cluster.name.clone()], objects: all }],
            objects,
        }
    }

    /// The objects of a variant.
    pub fn objects_of<'a>(&'a self, v: &'a Variant) -> impl Iterator<Item = &'a Object<'f>> + 'a {
        v.objects.iter().map(|&i| &self.objects[i])
    }
}

fn variants(
    app: &App,
    clusters: &[&Cluster],
    keys: &[ObjectKey],
    base_count: usize,
    overlays: &[std::ops::Range<usize>],
) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::new();
    for c in clusters {
        let mut set: Vec<usize> = (0..base_count).collect();
        for (overlay, range) in app.overlays.iter().zip(overlays) {
            if !overlay.clusters.matches(c) {
                continue;
            }
            for i in range.clone() {
                match set.iter().position(|&j| keys[j] == keys[i]) {
                    Some(p) => set[p] = i,
                    None => set.push(i),
                }
            }
        }
        match out.iter_mut().find(|v| v.objects == set) {
            Some(v) => v.clusters.push(c.name.clone()),
            None => out.push(Variant { clusters: vec![c.name.clone()], objects: set }),
        }
    }
    if out.is_empty() {
        // Placed nowhere: still audit the base, for no cluster.
        out.push(Variant { clusters: Vec::new(), objects: (0..base_count).collect() });
    }
    out
}
