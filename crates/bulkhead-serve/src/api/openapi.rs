//! The API's OpenAPI 3.1 document, built from the route table and the
//! answers' types (their JSON schemas, by schemars), so it cannot drift
//! from what is served. `bulkhead schema --openapi` prints it; the copy in
//! docs/openapi.json is checked against it by the tests.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{ROUTES, Route};
use crate::api::views::Problem;

fn parameters(route: &Route) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = route.path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
        let name = &rest[start + 1..end];
        let kind = if name == "id" { "integer" } else { "string" };
        out.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": kind}}));
        rest = &rest[end..];
    }
    for p in route.query {
        out.push(json!({"name": p.name, "in": "query", "required": false, "description": p.description, "schema": {"type": p.kind}}));
    }
    out
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// The document.
pub fn document() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas".into());
    let mut generator = SchemaGenerator::new(settings);
    let _ = generator.subschema_for::<Problem>();
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let response = (route.response)(&mut generator);
        let mut responses = Map::new();
        responses.insert(
            route.status.to_string(),
            json!({"description": "Success.", "content": {route.media: {"schema": response}}}),
        );
        responses.insert("401".into(), problem("No bearer token, or one that is not valid."));
        responses.insert(
            "403".into(),
            problem(&format!(
                "The caller may not `{}` {} (RBAC: verb `{}`, resource `{}` of group `bulkhead.dev`).",
                route.permission.verb, route.permission.resource, route.permission.verb, route.permission.resource
            )),
        );
        if route.path.contains('{') || route.method == "POST" {
            responses.insert("404".into(), problem("No such object in the fleet or the history."));
        }
        if route.method == "POST" && route.name.is_some() {
            responses.insert("409".into(), problem("Another replica holds the job's shard: ask again."));
        }
        let mut operation = json!({
            "summary": route.summary,
            "operationId": operation_id(route),
            "parameters": parameters(route),
            "responses": responses,
            "security": [{"bearer": []}],
            "x-bulkhead-permission": {"verb": route.permission.verb, "resource": route.permission.resource},
        });
        if let Some(body) = route.body {
            let schema = body(&mut generator);
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        let item = paths.entry(route.path.to_string()).or_insert_with(|| json!({}));
        item[route.method.to_ascii_lowercase()] = operation;
    }
    let schemas: Map<String, Value> = generator.definitions().clone();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Bulkhead",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of `bulkhead serve`: the fleet, its apps against their targets, the newest live check, the blast radius, jobs and runs; and actions behind their own permissions. docs/serve.md says how callers are checked.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A Kubernetes token of the management cluster (TokenReview, SubjectAccessReview), or a static token of --api-tokens."}},
        },
    })
}

fn operation_id(route: &Route) -> String {
    let mut id = route.method.to_ascii_lowercase();
    for part in route.path.trim_start_matches("/api/v1/").split('/') {
        let part = part.trim_matches(|c| c == '{' || c == '}');
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_once_with_its_permission() {
        let doc = document();
        let mut ids = std::collections::BTreeSet::new();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} {} is missing", route.method, route.path);
            assert_eq!(op["x-bulkhead-permission"]["verb"], route.permission.verb);
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()), "operationId twice");
        }
        // Every reference resolves.
        let text = doc.to_string();
        for (at, _) in text.match_indices("#/components/schemas/") {
            let name: String = text[at + 21..].chars().take_while(|c| *c != '"').collect();
            assert!(doc["components"]["schemas"][&name].is_object(), "{name} is referenced and not defined");
        }
    }
}
