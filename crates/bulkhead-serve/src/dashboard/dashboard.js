// Bulkhead's dashboard: the compliance table, the fleet map, the blast heat
// map and the job timeline. Online it reads `bulkhead serve`'s API and
// follows its live events; offline (`bulkhead report --html`) it reads the
// data that data.js, written beside it, holds. No framework, no request to
// any other server (the server's Content-Security-Policy forbids them).
"use strict";

const offline = window.bulkheadData || null;
const state = { token: sessionStorage.getItem("bulkhead-token") || "", selected: null };

// Builds an element; text goes in as text, never as HTML.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function duration(seconds) {
  if (seconds === undefined || seconds === null) return "–";
  // Under two minutes a tenth shows which side of a target it is on.
  if (seconds < 120) return (Math.round(seconds * 10) / 10) + "s";
  const s = Math.round(seconds);
  if (s < 7200) return Math.round(s / 60) + "m";
  if (s < 172800) return (s / 3600).toFixed(1).replace(/\.0$/, "") + "h";
  return (s / 86400).toFixed(1).replace(/\.0$/, "") + "d";
}

function time(rfc3339) {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

class Unauthenticated extends Error {}

async function api(path) {
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const response = await fetch(path, { headers, cache: "no-store" });
  if (response.status === 401 || response.status === 403) {
    const problem = await response.json().catch(() => ({}));
    showLogin(problem.message || response.statusText);
    throw new Unauthenticated(problem.message);
  }
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

// A view a token may lack (403) without the page asking for another token.
async function optional(path) {
  const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
  const response = await fetch(path, { headers, cache: "no-store" }).catch(() => null);
  return response && response.ok ? response.json() : null;
}

async function allApps() {
  let items = [];
  for (let offset = 0; offset !== undefined && offset !== null; ) {
    const page = await api("/api/v1/apps?limit=1000&offset=" + offset);
    items = items.concat(page.items);
    offset = page.nextOffset;
  }
  return items;
}

function showLogin(why) {
  const form = document.getElementById("login");
  form.hidden = false;
  document.getElementById("login-why").textContent = why || "";
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = document.getElementById("token").value.trim();
  sessionStorage.setItem("bulkhead-token", state.token);
  document.getElementById("login").hidden = true;
  refresh();
  follow();
});

document.getElementById("all-tiers").addEventListener("change", () => renderCompliance(state.apps || []));

function renderHeader(fleet, check) {
  document.getElementById("fleet-name").textContent = fleet ? fleet.name : "";
  const verdict = document.getElementById("verdict");
  if (check) {
    verdict.textContent = "check: " + check.verdict + " (" + check.diagnostics.length + " findings)";
    verdict.className = "badge " + check.verdict;
  }
  document.getElementById("updated").textContent = offline ? "offline report" : "updated " + time(new Date().toISOString());
}

function renderCompliance(apps) {
  const all = document.getElementById("all-tiers").checked;
  const shown = apps.filter((a) => all || a.tier === 1);
  const body = document.querySelector("#compliance tbody");
  body.replaceChildren(
    ...shown.map((app) => {
      const age = app.backupAgeSeconds;
      const rpo = app.rpoSeconds;
      const backup = app.backups.length === 0
        ? el("span", { class: "muted" }, "no backup declared")
        : el("span", { class: app.withinRpo === false ? "over" : "" },
            age === undefined ? (offline ? "not read" : "none yet") : duration(age),
            " / ", rpo === undefined ? "no RPO" : duration(rpo));
      const drill = app.drills[0];
      const drillText = !drill
        ? el("span", { class: "muted" }, "no drill")
        : el("span", { class: drill.withinRto === false || (drill.lastRun && drill.lastRun.outcome === "failed") ? "over" : "" },
            drill.rtoSeconds === undefined ? (drill.lastRun ? drill.lastRun.outcome : "never run") : duration(drill.rtoSeconds),
            " / ", app.rtoSeconds === undefined ? "no RTO" : duration(app.rtoSeconds));
      const findings = app.findings.errors + " errors, " + app.findings.warnings + " warnings";
      return el("tr", { class: app.health, "data-app": app.name },
        el("td", {}, el("b", {}, app.name)),
        el("td", {}, app.tier),
        el("td", {}, app.clusters.join(", ")),
        el("td", {}, backup),
        el("td", {}, drillText),
        el("td", { class: app.drifted ? "over" : "" }, offline ? "–" : app.drifted ? app.drifted + " objects" : "none"),
        el("td", { class: app.findings.errors ? "over" : "" }, findings),
        el("td", {}, el("span", { class: "pill " + app.health }, app.health)));
    }));
  document.getElementById("compliance-empty").hidden = shown.length > 0;
}

function renderFleet(fleet) {
  const byName = new Map(fleet.clusters.map((c) => [c.name, c]));
  const map = document.getElementById("fleet-map");
  map.replaceChildren(
    ...fleet.providers.map((provider) =>
      el("div", { class: "provider" },
        el("h3", {}, provider.name),
        provider.regions.map((region) =>
          el("div", { class: "region" },
            el("h4", {}, region.name, " · ", region.zones.map((z) => z.name).join(", ")),
            el("div", { class: "clusters" },
              region.clusters.map((name) => {
                const c = byName.get(name);
                if (!c) return null;
                return el("div", { class: "cluster " + c.health, "data-cluster": c.name, title: c.apps.join(", ") },
                  el("b", {}, c.name),
                  el("small", {}, c.zones.length + " zones · " + c.nodes + " nodes · " + c.apps.length + " apps"));
              })))))));
}

const LEVELS = ["provider", "region", "zone", "rack", "cluster"];

function renderBlast(blast) {
  const root = document.getElementById("blast");
  root.replaceChildren(
    ...LEVELS.flatMap((level) => {
      const domains = blast.domains.filter((d) => d.level === level);
      if (domains.length === 0) return [];
      return el("div", { class: "level" },
        el("h4", {}, level + "s"),
        el("div", { class: "cells" },
          domains.map((d) => {
            const down = d.apps.filter((a) => a.down).length;
            return el("button", {
              class: "cell " + d.worst + (state.selected === d.name ? " selected" : ""),
              "data-domain": d.name,
              title: d.name + ": " + d.worst,
              onclick: () => { state.selected = d.name; renderBlast(blast); },
            }, d.name.split("/").pop(), down ? " · " + down + " down" : "");
          })));
    }));
  const detail = document.getElementById("blast-detail");
  const chosen = blast.domains.find((d) => d.name === state.selected);
  detail.hidden = !chosen;
  if (chosen) {
    const down = chosen.apps.filter((a) => a.down);
    detail.replaceChildren(
      el("h3", {}, "Losing ", chosen.name),
      down.length === 0
        ? el("p", { class: "muted" }, "takes no app down" + (chosen.apps.length ? " (" + chosen.apps.length + " degrade or fail over)" : ""))
        : el("ul", { id: "takes-down" }, down.map((a) => el("li", { "data-app": a.app }, el("b", {}, a.app), " (tier " + a.tier + "): " + a.impact + " — " + a.why))),
      chosen.controlPlanes.length ? el("p", {}, "control planes losing quorum: " + chosen.controlPlanes.join(", ")) : null);
  }
}

// Each app's sites as every traffic DNS instance sees them: a row per site,
// a column per instance. A site the instances disagree on is marked.
function renderTraffic(traffic) {
  const section = document.getElementById("traffic-section");
  section.hidden = !traffic || !traffic.zone;
  if (section.hidden) return;
  const note = document.getElementById("traffic-note");
  const unreachable = traffic.instances.filter((i) => i.error);
  note.textContent = traffic.notAsked ? traffic.notAsked
    : traffic.zone + (unreachable.length ? " · not answering: " + unreachable.map((i) => i.name).join(", ") : "");
  document.querySelector("#traffic thead").replaceChildren(el("tr", {},
    el("th", {}, "App"), el("th", {}, "Site"), el("th", {}, "Instances agree"),
    traffic.instances.map((i) => el("th", { title: i.error || i.address }, i.name, i.error ? " ✕" : ""))));
  document.querySelector("#traffic tbody").replaceChildren(
    ...traffic.apps.flatMap((app) => app.sites.map((site, n) => {
      const by = new Map(site.seenBy.map((s) => [s.instance, s]));
      return el("tr", { class: "traffic " + site.agreement, "data-app": app.app, "data-site": site.cluster },
        el("td", {}, n === 0 ? el("b", {}, app.app) : "", n === 0 ? el("small", { class: "muted" }, " " + app.policy) : ""),
        el("td", { title: site.addresses.join(", ") }, site.cluster),
        el("td", {}, el("span", { class: "pill " + site.agreement }, site.agreement)),
        traffic.instances.map((i) => {
          const s = by.get(i.name);
          if (!s) return el("td", { class: "muted" }, "–");
          const votes = s.downVotes + "/" + s.of + " down";
          return el("td", { class: s.inAnswers ? "" : "over", title: s.reason, "data-instance": i.name },
            s.inAnswers ? "in" : "out", el("small", { class: "muted" }, " · probes " + (s.probesUp ? "up" : "down") + " · " + votes));
        }));
    })));
}

function renderTimeline(runs, jobs) {
  const running = jobs.filter((j) => j.running).length;
  const paused = jobs.filter((j) => j.paused).length;
  const failed = jobs.filter((j) => j.lastRun && ["failed", "timed-out"].includes(j.lastRun.outcome)).length;
  document.getElementById("job-counts").textContent =
    jobs.length + " jobs · " + running + " running · " + failed + " failing · " + paused + " paused";
  document.getElementById("timeline").replaceChildren(...runs.map(runItem));
}

function runItem(run) {
  const took = run.ended ? (new Date(run.ended) - new Date(run.started)) / 1000 : undefined;
  return el("li", { class: run.outcome, "data-run": run.id },
    el("span", {}, time(run.started)),
    el("span", {}, el("span", { class: "pill " + run.outcome }, run.outcome)),
    el("span", {}, run.job, took !== undefined ? " · " + duration(took) : ""),
    run.reason ? el("span", { class: "reason" }, run.reason) : null);
}

async function refresh() {
  try {
    if (offline) {
      state.apps = offline.apps;
      renderHeader(offline.fleet, offline.check);
      renderCompliance(offline.apps);
      renderFleet(offline.fleet);
      renderBlast(offline.blast);
      document.getElementById("timeline-section").hidden = true;
      document.getElementById("live").hidden = true;
      return;
    }
    // The blast radius is the fleet's on paper: it changes with the fleet,
    // not with runs, and on a large fleet it is the largest answer. Asked
    // once per page (and at every 30 s refresh), not at every run's event.
    const wantBlast = !state.blast || !state.fromEvent;
    const [fleet, apps, blast, jobs, runs, check, traffic] = await Promise.all([
      api("/api/v1/fleet"), allApps(), wantBlast ? api("/api/v1/blast") : state.blast,
      api("/api/v1/jobs?limit=1000"), api("/api/v1/runs?limit=50"), api("/api/v1/check"),
      optional("/api/v1/traffic"),
    ]);
    state.apps = apps;
    state.blast = blast;
    renderHeader(fleet, check);
    renderCompliance(apps);
    renderFleet(fleet);
    renderBlast(blast);
    renderTimeline(runs.items, jobs.items);
    renderTraffic(traffic);
    document.body.dataset.loaded = "true";
  } catch (e) {
    if (!(e instanceof Unauthenticated)) document.getElementById("updated").textContent = "cannot read the API: " + e.message;
  }
}

let pending = null;
function soon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    state.fromEvent = true;
    refresh().finally(() => { state.fromEvent = false; });
  }, 500);
}

// Server-sent events over fetch (EventSource cannot send the token). One
// loop only; while the API wants a token it waits for one.
let following = false;
async function follow() {
  if (offline || following) return;
  following = true;
  const live = document.getElementById("live");
  for (;;) {
    try {
      const headers = state.token ? { Authorization: "Bearer " + state.token } : {};
      const response = await fetch("/api/v1/events", { headers });
      if (response.status === 401 || response.status === 403) {
        // 403: the token may read, not follow (`watch` on runs): refreshes only.
        live.textContent = response.status === 403 ? "not live (no watch on runs)" : "offline";
        live.className = "live";
        following = false;
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      live.textContent = "live";
      live.className = "live on";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^event: (run|lagged)$/m.test(block)) soon();
        }
      }
    } catch (e) {
      // The server restarted or the network went: try again shortly.
    }
    live.textContent = "reconnecting";
    live.className = "live";
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

refresh();
follow();
if (!offline) setInterval(refresh, 30000);
