//! Where the API server keeps each object in etcd: `/registry/<resource>/
//! [<namespace>/]<name>`, custom resources under `/registry/<group>/
//! <plural>/…`, and the irregular ones (nodes are `minions`, Services
//! `services/specs`, …; the kubernetes repository's
//! `test/integration/etcd/data.go` lists every built-in key).

/// The prefix the API server writes under (its `--etcd-prefix`).
pub const PREFIX: &str = "/registry/";

/// Storage paths whose resource is not the path's first segment.
const IRREGULAR: &[(&str, &str)] = &[
    ("minions", "nodes"),
    ("services/specs", "services"),
    ("services/endpoints", "endpoints"),
    ("ingress", "ingresses"),
    ("controllers", "replicationcontrollers"),
];

/// An object's place, read from its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectPath {
    /// The API group when the key says it (custom resources and the
    /// aggregated APIs); built-in kinds' groups come from their values.
    pub group: Option<String>,
    /// The resource, plural (`deployments`).
    pub resource: String,
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectPath {
    /// Parses a key; `None` for keys that are not objects (outside the
    /// prefix, or too short).
    pub fn parse(key: &[u8]) -> Option<Self> {
        let key = std::str::from_utf8(key).ok()?.strip_prefix(PREFIX)?;
        // The service IP and node port allocations: single objects named by the path.
        if let Some(name @ ("serviceips" | "servicenodeports")) = key.strip_prefix("ranges/") {
            return Some(Self { group: None, resource: "rangeallocations".into(), namespace: None, name: name.into() });
        }
        for (path, resource) in IRREGULAR {
            if let Some(rest) = key.strip_prefix(path).and_then(|r| r.strip_prefix('/')) {
                return Self::place(None, resource, rest);
            }
        }
        let (first, rest) = key.split_once('/')?;
        if first.contains('.') {
            let (plural, rest) = rest.split_once('/')?;
            return Self::place(Some(first), plural, rest);
        }
        Self::place(None, first, rest)
    }

    fn place(group: Option<&str>, resource: &str, rest: &str) -> Option<Self> {
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, name)) if !name.contains('/') => (Some(ns.to_string()), name),
            Some(_) => return None,
            None => (None, rest),
        };
        (!name.is_empty() && !resource.is_empty()).then(|| Self {
            group: group.map(str::to_string),
            resource: resource.to_string(),
            namespace,
            name: name.to_string(),
        })
    }

    /// `resource/namespace/name` or `resource/name`, for people.
    pub fn display(&self) -> String {
        let resource = match &self.group {
            Some(g) => format!("{}.{g}", self.resource),
            None => self.resource.clone(),
        };
        match &self.namespace {
            Some(ns) => format!("{resource}/{ns}/{}", self.name),
            None => format!("{resource}/{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(key: &str) -> Option<(Option<String>, String, Option<String>, String)> {
        ObjectPath::parse(key.as_bytes()).map(|p| (p.group, p.resource, p.namespace, p.name))
    }

    #[test]
    fn regular_and_irregular_keys() {
        let s = |v: &str| v.to_string();
        assert_eq!(parse("/registry/pods/default/web-0"), Some((None, s("pods"), Some(s("default")), s("web-0"))));
        assert_eq!(parse("/registry/namespaces/prod"), Some((None, s("namespaces"), None, s("prod"))));
        assert_eq!(parse("/registry/minions/node1"), Some((None, s("nodes"), None, s("node1"))));
        assert_eq!(parse("/registry/services/specs/ns/web"), Some((None, s("services"), Some(s("ns")), s("web"))));
        assert_eq!(parse("/registry/services/endpoints/ns/web"), Some((None, s("endpoints"), Some(s("ns")), s("web"))));
        assert_eq!(parse("/registry/ingress/ns/web"), Some((None, s("ingresses"), Some(s("ns")), s("web"))));
        assert_eq!(
            parse("/registry/controllers/ns/rc"),
            Some((None, s("replicationcontrollers"), Some(s("ns")), s("rc")))
        );
        assert_eq!(parse("/registry/ranges/serviceips"), Some((None, s("rangeallocations"), None, s("serviceips"))));
        assert_eq!(
            parse("/registry/cr.bar.com/foos/ns/a"),
            Some((Some(s("cr.bar.com")), s("foos"), Some(s("ns")), s("a")))
        );
        assert_eq!(
            parse("/registry/apiextensions.k8s.io/customresourcedefinitions/foos.cr.bar.com"),
            Some((Some(s("apiextensions.k8s.io")), s("customresourcedefinitions"), None, s("foos.cr.bar.com")))
        );
        assert_eq!(parse("/registry/ipaddresses/192.168.1.3"), Some((None, s("ipaddresses"), None, s("192.168.1.3"))));
        assert_eq!(parse("/other/pods/a/b"), None);
        assert_eq!(parse("/registry/pods"), None);
        assert_eq!(parse("/registry/pods/a/b/c"), None);
        assert_eq!(parse("/registry/health"), None);
    }
}
