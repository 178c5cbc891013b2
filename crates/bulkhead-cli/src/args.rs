//! Every flag of `bulkhead`, in one place. Parsing only checks shapes;
//! [`crate::settings`] turns flags and environment into what commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars;

/// Bulkhead keeps a fleet of Kubernetes clusters, across clouds and
/// bare-metal sites, reliable and recoverable, and proves it with numbers.
///
/// A fleet is a directory in git: `fleet.yaml` (providers, clusters, apps,
/// recovery plans) and the apps' manifests. Start with:
///
///   bulkhead check examples/multicloud
#[derive(Debug, Parser)]
#[command(name = "bulkhead", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 passed, 1 a check found problems, 2 bad input or usage, 3 the outside world failed.\nThe fleet format: docs/fleet.md; `bulkhead schema` gives it to your editor."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour human output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = env_vars::BULKHEAD_COLOR)]
    pub color: ColorChoice,

    /// Log more about what is happening (to stderr); repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every analysis of the fleet and give one verdict (the CI job).
    ///
    /// Validates fleet.yaml and every manifest, then checks the network
    /// ranges, audits every workload and computes the blast radius of every
    /// failure domain (no single zone may take down a tier-1 app). Exit 0 on
    /// pass, 1 when a finding reaches `--fail-on`, 2 on bad input.
    Check(CheckArgs),

    /// Check fleet.yaml and every app manifest; report every problem.
    ///
    /// Each problem comes with file:line:column, what is wrong and a hint.
    /// Manifests are checked against the Kubernetes v1.36 API schema
    /// (unknown fields are errors). Exit 0 when the fleet is usable, 2 when
    /// it has errors.
    Validate(ValidateArgs),

    /// Find fragile workloads: probes, replicas, budgets, spread, storage.
    ///
    /// Checks every workload of every app against reliability practices,
    /// and against the zones, node pools and storage classes of each cluster
    /// it is placed on. Each finding has a stable check ID, the failure it
    /// prevents and the fix; configure checks in `spec.audit.checks`, and
    /// silence one on an object with the annotation
    /// `bulkhead.dev/audit-ignore: "check-id"`. With `--live` the objects are
    /// read from the clusters, adding what only running state shows.
    Audit(AuditArgs),

    /// What breaks if a node, rack, zone, region, provider or cluster fails?
    ///
    /// For every failure domain (with `--depth 2`, every pair): which apps
    /// lose availability, quorum or data, whether each control plane keeps
    /// etcd quorum, and how each app recovers and how long it takes
    /// (reschedule in place, DNS failover, restore from backup). Statically
    /// it assumes the worst placement the scheduler may legally choose; with
    /// `--live` it uses where the pods run now. Exit 1 when a `--fail-on`
    /// policy is broken (default: no single zone may take down a tier-1 app).
    Blast(BlastArgs),

    /// Write every object of a cluster as clean YAML, ready for another cluster.
    ///
    /// Discovers every API resource the cluster serves (core, built-in
    /// groups, custom resources, aggregated APIs), lists each page by page,
    /// several at once, and strips what belongs to that cluster alone:
    /// status, uid, resourceVersion, generation, creationTimestamp,
    /// managedFields, selfLink, the last-applied annotation, owner
    /// references' uids, a Service's allocated cluster IPs and node ports
    /// (kept when someone set them), a PV's claimRef uid, a Pod's nodeName.
    /// What every cluster makes for itself is left out: service-account
    /// token Secrets, kube-root-ca.crt ConfigMaps, bootstrap RBAC,
    /// APIServices and flow control, the `kubernetes` Service, the
    /// inventories of `bulkhead apply` (they belong to their cluster); and so is
    /// each cluster's own state: nodes, component statuses, events, leases,
    /// IP address allocations, CSI nodes, volume attachments. A resource that cannot be
    /// listed is named and the rest exported, with exit 1; an unreachable
    /// cluster is exit 3.
    ///
    ///   bulkhead export --cluster aws-use1-prod --out backup/ examples/multicloud
    ///   bulkhead export --kubeconfig ~/.kube/config --namespace shop > shop.yaml
    Export(ExportArgs),

    /// Print the objects a cluster should have: its apps and baselines.
    ///
    /// Each app's manifests on the clusters its placement selects, an
    /// overlay's object replacing the base object of the same group, kind,
    /// namespace and name, the app's namespace, and the fleet's
    /// `baselines`. `plan`, `apply` and `drift` all use exactly this.
    ///
    ///   bulkhead render --cluster aws-use1-prod examples/multicloud
    Render(RenderArgs),

    /// What would applying the fleet change on each cluster?
    ///
    /// A server-side dry-run apply of every desired object on every cluster
    /// (at once), shown like Terraform: `+` create, `~` update with the
    /// fields that change (only fields Bulkhead's field manager sets), `-`
    /// delete (objects Bulkhead applied before that are no longer desired;
    /// objects it never applied are never deleted), `!` stop managing but
    /// leave (namespaces and definitions). `--out FILE` saves the plan for
    /// `bulkhead apply FILE`.
    ///
    /// Exit codes, for CI: 0 no changes, 1 changes pending, 2 bad input (the
    /// fleet, or an object a cluster refuses), 3 a cluster unreachable.
    ///
    ///   bulkhead plan --out release.plan examples/multicloud
    Plan(PlanArgs),

    /// Apply the fleet (or a saved plan) in waves, with health gates.
    ///
    /// Plans first (or reads FILE, then checks that no cluster changed in a
    /// way that changes the plan), then goes wave by wave through
    /// `rollout.waves` (clusters no wave selects come last): a wave's
    /// clusters at once, server-side apply under the `bulkhead` field
    /// manager, then the wave's workloads must roll out (nothing
    /// crash-looping) within `--health-timeout` and stay healthy for the
    /// wave's `pause`. `approval: true` asks on the terminal (`--yes` for
    /// CI). A plan that deletes more than `--max-delete` percent of a
    /// cluster's managed objects is refused without `--allow-mass-delete`.
    /// The first failed wave stops the rollout. Exit 0 applied and healthy,
    /// 1 a wave failed or was refused, 2 bad input, 3 a cluster unreachable.
    ///
    ///   bulkhead apply examples/multicloud
    ///   bulkhead apply --yes release.plan
    Apply(ApplyArgs),

    /// Has anything drifted from the fleet's code?
    ///
    /// Compares every object Bulkhead applied with its desired state, by the
    /// same server-side dry run as `plan`: fields other managers own,
    /// defaults and what mutating webhooks set never count; a field
    /// Bulkhead set that holds another value does, and so does an object it
    /// applied that is gone. Changes of the fleet's code not applied yet
    /// are counted as pending, not drift. Exit 1 when something drifted, 3
    /// when a cluster is unreachable.
    Drift(DriftArgs),

    /// Back up cluster resources into the fleet's repository, and look at backups.
    ///
    /// Backups are snapshots in restic's repository format (encrypted,
    /// compressed, deduplicated), in a local directory or S3, readable with
    /// stock `restic` (`restic ls`, `restic dump`) even without Bulkhead.
    #[command(subcommand)]
    Backup(BackupCommand),

    /// Rehearse recovery: restore an app's newest backup into scratch
    /// namespaces of another cluster, verify it, measure RTO and RPO.
    ///
    /// The drill restores the app's newest snapshot from the `from` cluster
    /// into `NS-drill-XXXXXX` namespaces of the `to` cluster (storage
    /// classes mapped from fleet.yaml), waits until its Deployments,
    /// StatefulSets and DaemonSets are available, compares every object
    /// with the snapshot field by field, measures the RTO (start to
    /// verified) and the RPO (the snapshot's age) against the app's `sla`,
    /// removes the scratch namespaces (after a failure or Ctrl-C too), and
    /// records the result in the repository. Exit 1 when it fails, with why.
    ///
    ///   bulkhead drill run orders-to-gcp examples/multicloud
    ///   bulkhead drill run --app shop --from aws-use1-prod --to gcp-euw4-dr DIR
    ///   bulkhead drill history --app shop DIR
    #[command(subcommand)]
    Drill(DrillCommand),

    /// Back up a self-managed control plane's etcd.
    ///
    /// `etcd snapshot` takes a full snapshot through etcd's maintenance API
    /// (the fleet's `controlPlane.etcd.access`: endpoints, and for TLS the
    /// CA and the API servers' client certificate), checks the SHA-256 etcd
    /// appends to it, and stores it in the fleet's repository (tagged
    /// `bulkhead=etcd`, `cluster=…`, `etcd-revision=…`; stock restic reads
    /// it) or writes it as a file `etcdutl snapshot restore` accepts.
    ///
    ///   bulkhead etcd snapshot --cluster metal-ams1-prod examples/multicloud
    ///   bulkhead etcd snapshot --cluster metal-ams1-prod --out etcd.db DIR
    #[command(subcommand)]
    Etcd(EtcdCommand),

    /// Cross-site traffic DNS: answer for the fleet's traffic zone with the
    /// sites that are healthy.
    ///
    ///   bulkhead traffic serve --instance ns1 --peer-key peers.key DIR
    #[command(subcommand)]
    Traffic(TrafficCommand),

    /// Restore a backup into a cluster, in an order that always works.
    ///
    /// Definitions first (each waited for until Established), then
    /// namespaces, service accounts and RBAC, ConfigMaps and Secrets,
    /// storage, workloads, Services and Ingresses, and the rest (custom
    /// resources); each phase applied in parallel with server-side apply
    /// under the field manager `bulkhead`. Every object gets a result
    /// (created, updated, unchanged, skipped, failed, and why); exit 1 when
    /// any failed. A restore that was interrupted converges when run again.
    ///
    ///   bulkhead restore --from latest --source-cluster aws-use1-prod --to gcp-euw4-dr \
    ///       --namespace-map shop=shop --storage-class-map gp3=standard-rwo --dry-run
    Restore(RestoreArgs),

    /// Plan and check the fleet's network ranges.
    ///
    /// `net plan` gives every `auto` range of every cluster a place in the
    /// fleet's supernets and records it in net.lock.json, so it never moves;
    /// `net check` finds overlapping, too small and drifted ranges.
    #[command(subcommand)]
    Net(NetCommand),

    /// Print the JSON Schema of fleet.yaml, for editors (--openapi: serve's API)
    ///
    /// With --openapi, the OpenAPI 3.1 document of `bulkhead serve`'s API
    /// instead, as the server serves it at /openapi.json.
    ///
    /// Point your editor at it, for example with a first line
    /// `# yaml-language-server: $schema=fleet.schema.json`.
    Schema(SchemaArgs),

    /// Write the dashboard of an offline fleet as self-contained files.
    ///
    /// The pages `bulkhead serve` shows (the compliance table, the fleet
    /// map, the blast heat map), with what can be known without the
    /// clusters or the repositories: the static analyses and each app's
    /// targets. Open DIR/index.html in a browser or publish the folder.
    ///
    ///   bulkhead report --html public/ examples/multicloud
    Report(ReportArgs),

    /// Run what the fleet schedules, until stopped: the robot.
    ///
    /// Each policy's backups (every app of the policy on every cluster it
    /// runs on) and retention on the policy's cron schedule (UTC), the etcd
    /// snapshots of policies with `etcd: true`, an etcd watch per control
    /// plane whose `etcd.backup` names a policy (restarted when it stops),
    /// drills on their schedules, drift and `check --live` every few
    /// minutes. When a job last succeeded is read from the repositories,
    /// so after downtime each overdue job runs once. A job never overlaps
    /// itself; failures of the outside world are retried with backoff.
    /// Every run is kept in the history (`bulkhead jobs list`); metrics at
    /// `/metrics`, health at `/healthz` and `/readyz`; the dashboard at `/`
    /// and its JSON API at `/api/v1` (described at `/openapi.json`), whose
    /// callers the management cluster's RBAC judges (--api-auth). A valid
    /// change to the fleet directory is taken without a restart; an invalid
    /// one keeps the last good fleet. SIGTERM or Ctrl-C: nothing new
    /// starts, running jobs get `--grace`, then are cancelled.
    ///
    ///   bulkhead serve --listen 127.0.0.1:9464 examples/multicloud
    ///
    ///   bulkhead serve --listen 0.0.0.0:9464 --api-tokens tokens.yaml --tls-cert tls.crt --tls-key tls.key DIR
    Serve(ServeArgs),

    /// Read the history of `bulkhead serve`'s runs.
    #[command(subcommand)]
    Jobs(JobsCommand),
}

/// `bulkhead serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Where the API (`/api/v1`, `/openapi.json`), `/metrics`, `/healthz`
    /// and `/readyz` are served. An address other than loopback needs the
    /// API's callers checked (--api-auth).
    #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// How the API checks its callers: `kubernetes` asks the management
    /// cluster (TokenReview for whose a bearer token is, SubjectAccessReview
    /// for whether RBAC lets them: verbs on resources of group
    /// `bulkhead.dev` in the lease namespace); `tokens` reads --api-tokens;
    /// `none` checks nothing and serves loopback only [default: `tokens`
    /// with --api-tokens, else `kubernetes` when the fleet names a
    /// management cluster, else `none`]. Metrics and health stay open.
    #[arg(long, value_enum, value_name = "HOW")]
    pub api_auth: Option<ApiAuthArg>,

    /// Static tokens for a server outside any cluster: a YAML file of each
    /// token's SHA-256 digest (never the token) and what it may do
    /// (docs/serve.md).
    #[arg(long, value_name = "FILE")]
    pub api_tokens: Option<PathBuf>,

    /// Serve HTTPS with this certificate chain (PEM, the server's first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// A TSIG key (BIND's key file, as `tsig-keygen` writes it) that the
    /// traffic DNS instances take with `--transfer-key`: `/api/v1/traffic`
    /// and the dashboard then show each app's sites as every instance sees
    /// them (asked over DNS, signed). Without it, only what the fleet declares.
    #[arg(long, value_name = "FILE")]
    pub traffic_key: Option<PathBuf>,

    /// Where the history of runs is kept [default: $XDG_STATE_HOME/bulkhead,
    /// or ~/.local/state/bulkhead].
    #[arg(long, value_name = "DIR", env = env_vars::BULKHEAD_STATE)]
    pub state: Option<PathBuf>,

    /// How often drift is looked for (0: never).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub drift_every: std::time::Duration,

    /// How often `check --live` runs (0: never).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub check_every: std::time::Duration,

    /// A job starts up to this long after its slot, spread by a hash of the
    /// job (the same on every replica), so one slot's jobs do not start at once.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub jitter: std::time::Duration,

    /// Jobs at once on one cluster.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub per_cluster: u16,

    /// Jobs at once writing to one repository.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub per_repository: u16,

    /// Attempts at one slot of a job the outside world fails (a cluster or
    /// repository unreachable), waiting twice as long each time.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub attempts: u32,

    /// The first retry's wait.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub backoff: std::time::Duration,

    /// How often the repositories are read again for the last successes.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub evidence_every: std::time::Duration,

    /// A time limit for a job kind, as KIND=DURATION (`backup=2h`,
    /// `drill=30m`; `0` for none), over the defaults: backup, retention and
    /// drill 1h, etcd-snapshot 30m, drift and check 10m. Repeat for more kinds.
    #[arg(long = "timeout", value_name = "KIND=DURATION")]
    pub timeouts: Vec<String>,

    /// How long running jobs may go on after SIGTERM before they are cancelled.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub grace: std::time::Duration,

    /// Stop after this long (tests, trials); by default until stopped.
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub run_for: Option<std::time::Duration>,

    /// Coordinate replicas through a Lease in this cluster of the fleet (it
    /// needs `access`) [default: the fleet's `serve.managementCluster`]:
    /// the replica holding it runs the jobs, the others stand by and take
    /// over within `--lease-duration` when it dies. With neither, this
    /// process runs everything.
    #[arg(long, value_name = "CLUSTER")]
    pub lease_cluster: Option<String>,

    /// The Lease's namespace, which must exist [default: the fleet's
    /// `serve.leaseNamespace`, else `bulkhead`].
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// The Lease's name (one per fleet).
    #[arg(long, default_value = "bulkhead-serve", value_name = "NAME")]
    pub lease_name: String,

    /// How long the lease lasts unrenewed: a dead leader's work moves within about this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_duration: std::time::Duration,

    /// Divide the jobs into this many shards (by cluster), each with a
    /// Lease, spread over the live replicas by rendezvous hashing: adding a
    /// replica spreads the work, a dead one's shards move within
    /// `--lease-duration`. 1: one leader runs everything.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub shards: u32,

    /// This replica's name in the Lease [default: the host name and the process id].
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,

    /// Run every job here, without Leases, even when the fleet names a
    /// management cluster (one machine, a trial). Never start two.
    #[arg(long, conflicts_with_all = ["lease_cluster", "lease_namespace", "shards"])]
    pub standalone: bool,

    /// Start even when a job's last three runs each took longer than its
    /// schedule leaves between slots (it cannot keep up: slots are skipped
    /// and its RPO is not met). Refused without this.
    #[arg(long)]
    pub allow_overrun: bool,

    /// Run nothing: read the fleet and the repositories, judge every job
    /// once as the server would, print each with its schedule, last success
    /// and next run (or "due now"), and what judging cost. Writes no state.
    #[arg(long)]
    pub dry_run: bool,

    /// The format of `--dry-run`'s report.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The folder to write index.html, dashboard.js, dashboard.css and
    /// data.js into (created when missing; those files are replaced).
    #[arg(long, value_name = "DIR")]
    pub html: PathBuf,
}

/// `bulkhead schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The OpenAPI 3.1 document of `bulkhead serve`'s API instead (as the
    /// server serves it at /openapi.json, and docs/openapi.json holds it).
    #[arg(long)]
    pub openapi: bool,
}

/// How `serve`'s API checks its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiAuthArg {
    /// The management cluster's TokenReview and SubjectAccessReview.
    Kubernetes,
    /// Static tokens (--api-tokens).
    Tokens,
    /// No check: loopback only.
    None,
}

/// `bulkhead jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The newest runs, newest first.
    ///
    ///   bulkhead jobs list --job backup/tier1 --limit 20
    List(JobsListArgs),
    /// One run, whole.
    Show(JobsShowArgs),
}

/// Where the history is.
#[derive(Debug, Args)]
pub struct StateArg {
    /// The state directory `bulkhead serve` writes [default:
    /// $XDG_STATE_HOME/bulkhead, or ~/.local/state/bulkhead].
    #[arg(long, value_name = "DIR", env = env_vars::BULKHEAD_STATE)]
    pub state: Option<PathBuf>,
}

/// `bulkhead jobs list`.
#[derive(Debug, Args)]
pub struct JobsListArgs {
    /// The state directory.
    #[command(flatten)]
    pub state: StateArg,

    /// Only this job (`backup/tier1/aws-use1-prod/orders-db`) or the jobs
    /// under a prefix of it (`backup/tier1`, `drill`).
    #[arg(long, value_name = "KEY")]
    pub job: Option<String>,

    /// At most this many runs.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead jobs show`.
#[derive(Debug, Args)]
pub struct JobsShowArgs {
    /// The run's id (from `jobs list`).
    pub id: u64,

    /// The state directory.
    #[command(flatten)]
    pub state: StateArg,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// Where the fleet is.
#[derive(Debug, Args)]
pub struct FleetArg {
    /// A fleet directory (holding fleet.yaml), or the path of a fleet file.
    #[arg(value_name = "DIR", env = env_vars::BULKHEAD_FLEET, default_value = ".")]
    pub fleet: PathBuf,
}

/// `bulkhead export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The fleet, through whose `access` `--cluster` is reached.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The fleet's cluster to export.
    #[arg(long, required_unless_present = "kubeconfig", conflicts_with = "kubeconfig")]
    pub cluster: Option<String>,

    /// Export the cluster of a kubeconfig instead (no fleet needed).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// With `--kubeconfig`: its context (default: its current one).
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,

    /// Only this namespace (repeat for more); cluster-scoped objects are
    /// then left out. Default: everything.
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Where to write: a directory, as a tree
    /// (`cluster/KIND.GROUP/NAME.yaml`, `namespaces/NS/KIND.GROUP/NAME.yaml`),
    /// or `-` for one YAML stream on standard output, sorted by that path.
    #[arg(long, value_name = "DIR|-", default_value = "-")]
    pub out: PathBuf,

    /// Resources listed at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

/// `bulkhead render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The cluster whose desired state to print.
    #[arg(long)]
    pub cluster: String,

    /// YAML documents (with a comment naming each object's source), or
    /// one JSON List.
    #[arg(long, short, value_enum, default_value_t = ExtractOutput::Yaml)]
    pub output: ExtractOutput,
}

/// Which clusters `plan`, `apply` and `drift` reach, and how hard.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Only this cluster (repeat for more). Default: every cluster with `access`.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,

    /// Dry runs (and applies) in flight at once per cluster.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
}

/// `bulkhead plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Clusters.
    #[command(flatten)]
    pub targets: TargetArgs,

    /// Save the plan here, for `bulkhead apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = PlanOutput::Human)]
    pub output: PlanOutput,
}

/// `bulkhead apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A fleet directory (or fleet file) to plan and apply, or a plan file
    /// saved by `bulkhead plan --out`.
    #[arg(value_name = "DIR|PLANFILE", env = env_vars::BULKHEAD_FLEET, default_value = ".")]
    pub target: PathBuf,

    /// Clusters.
    #[command(flatten)]
    pub targets: TargetArgs,

    /// Approve every wave that asks for approval (for CI).
    #[arg(long, short)]
    pub yes: bool,

    /// Clusters of a wave applied at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_parallel: u16,

    /// How long a wave's workloads may take to roll out, such as `5m`.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub health_timeout: std::time::Duration,

    /// Refuse a plan that deletes more than this percentage of the objects
    /// Bulkhead manages on a cluster.
    #[arg(long, default_value_t = 25, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_delete: u8,

    /// Apply even when a plan deletes more than `--max-delete`.
    #[arg(long)]
    pub allow_mass_delete: bool,

    /// Output format: progress and a report for people, or one JSON
    /// document at the end.
    #[arg(long, short, value_enum, default_value_t = PlanOutput::Human)]
    pub output: PlanOutput,
}

/// `bulkhead drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Clusters.
    #[command(flatten)]
    pub targets: TargetArgs,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = PlanOutput::Human)]
    pub output: PlanOutput,
}

/// `bulkhead validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Check fleet.yaml only, not the apps' manifests.
    #[arg(long)]
    pub no_manifests: bool,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// `bulkhead check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The lowest severity that fails the check (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Run every analysis against the clusters as they run now (through
    /// each cluster's `access`): the ranges they use, the objects they run,
    /// where the pods are, and whether what `bulkhead apply` applied has
    /// drifted (a warning `drift` each). A cluster that cannot be read exits 3. The
    /// backup repositories are read too (as `--repos`).
    #[arg(long)]
    pub live: bool,

    /// Read the backup repositories the policies use (no cluster needed):
    /// each app with a backup policy is judged by the age of its newest
    /// snapshot against its RPO, and an app with none is reported.
    #[arg(long)]
    pub repos: bool,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// `bulkhead audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Read the objects from the clusters (through each cluster's `access`)
    /// instead of the manifests.
    #[arg(long, conflicts_with = "manifests")]
    pub live: bool,

    /// Audit plain Kubernetes manifests with no fleet.yaml: a folder, a
    /// file, or `-` for standard input (`helm template … | bulkhead audit
    /// --manifests -`). They are checked as one app on one anonymous
    /// cluster of three zones and six nodes; DIR is ignored.
    #[arg(long, value_name = "PATH")]
    pub manifests: Option<PathBuf>,

    /// With `--manifests`: judge the manifests as an app of this tier (1 the
    /// most critical and the strictest, 3 best effort).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3), requires = "manifests")]
    pub tier: u8,

    /// List every check (ID, category, severity, default, what it prevents)
    /// and exit.
    #[arg(long)]
    pub list_checks: bool,

    /// The lowest severity that fails the audit (exit 1).
    #[arg(long, value_enum, default_value_t = FailOnAll::Error)]
    pub fail_on: FailOnAll,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// `bulkhead blast`.
#[derive(Debug, Args)]
pub struct BlastArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// 1: every single failure; 2: every pair of failures too (above nodes).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub depth: u8,

    /// Use the pods running now (through each cluster's `access`) instead of
    /// the worst placement the manifests allow.
    #[arg(long)]
    pub live: bool,

    /// Read the drill records in the backup repositories: "restore from
    /// backup" then takes as long as the app's newest passing drill
    /// measured (`bulkhead drill`), instead of an unknown time that misses
    /// every RTO.
    #[arg(long)]
    pub repos: bool,

    /// Predict one failure only, such as `zone=us-east-1a`,
    /// `region=aws/us-east-1` or `cluster=aws-use1-prod` (a game day).
    #[arg(long, value_name = "LEVEL=NAME")]
    pub simulate: Option<String>,

    /// Fail (exit 1) when a single failure at LEVEL takes down an app of
    /// TIER or more critical: `zone:1`, `region:2`, `node`. Repeatable.
    #[arg(long, value_name = "LEVEL[:TIER]", default_value = "zone:1")]
    pub fail_on: Vec<String>,

    /// Also write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// Severity thresholds, notes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnAll {
    /// Fail on errors only.
    Error,
    /// Fail on warnings too.
    Warning,
    /// Fail on anything, notes included.
    Info,
}

/// `bulkhead backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup of a cluster (or of one app on it) now.
    ///
    /// Every served resource is listed page by page, several at once, and
    /// streamed into one snapshot, tagged `fleet=…`, `cluster=…` (and
    /// `app=…`), with the API server's version and the list of resources in
    /// its description. What belongs to one cluster only is cleaned away (as
    /// `bulkhead export` does). Left out unless `--include-noise`: Endpoints,
    /// EndpointSlices, ControllerRevisions, and Pods, ReplicaSets and Jobs
    /// that a controller owns (the controllers recreate them). Never backed
    /// up: nodes, events, leases, IP allocations, CSI nodes, volume
    /// attachments. Secrets are included: the repository is encrypted.
    /// A resource that cannot be listed is named and the rest backed up
    /// (exit 1).
    Create(BackupCreateArgs),

    /// List the repository's snapshots, newest last.
    List(BackupListArgs),

    /// Check the repository: its index, packs, trees and snapshots, and with
    /// `--read-data` every pack's content (a corrupted or missing pack is
    /// found). Exit 1 when it finds a problem.
    Check(BackupCheckArgs),

    /// Show one snapshot: its tags, the Kubernetes version it came from, and
    /// its objects per resource (with `--objects`, every object).
    Show(BackupShowArgs),

    /// Compare two snapshots: the objects added, removed and changed (and
    /// which fields changed), by resource. Unchanged objects are never read.
    ///
    ///   bulkhead backup diff 1f3a9c2e latest --cluster aws-use1-prod
    Diff(BackupDiffArgs),

    /// Remove the snapshots the retention rules do not keep.
    ///
    /// Snapshots are grouped by cluster and app; each group is kept by its
    /// app's policy's `keep` in fleet.yaml, or by the `--keep-*` flags given
    /// (which then apply to every group). Groups with no rules are left
    /// alone. The data the removed snapshots held stays until `backup prune`.
    ///
    ///   bulkhead backup forget --policy hourly --dry-run
    Forget(BackupForgetArgs),

    /// Remove the data no snapshot uses any more.
    ///
    /// Unused packs are marked and deleted by a later prune at least 23 h on
    /// (a backup running meanwhile may still refer to them); `--now` deletes
    /// them at once, safe only when nothing else writes the repository.
    Prune(BackupPruneArgs),
}

/// `bulkhead traffic …`.
#[derive(Debug, Subcommand)]
pub enum TrafficCommand {
    /// Run one instance of the traffic DNS (one per site) until stopped.
    ///
    /// Answers for `spec.traffic.zone` on UDP and TCP: each app's hostname
    /// with the addresses of its sites that are up, by its policy
    /// (failover, weighted, round-robin); SOA and NS at the apex; NXDOMAIN
    /// or NODATA with the SOA; REFUSED for names outside the zone (it is no
    /// resolver). Every site is probed (HTTP GET of the health path with
    /// the app's Host, or TCP) each `probes.interval`, and where the cluster
    /// has `access` its API is asked whether the app's Deployments,
    /// StatefulSets and DaemonSets have a pod available (none counts as a
    /// failed probe); `failAfter` failures in a row mark a site down,
    /// `recoverAfter` passes up again. Instances send
    /// each other what they see, signed with `--peer-key`, and a site leaves
    /// the answers only when more than half of all instances see it down:
    /// an instance cut off from a site, or from its peers, never fails it
    /// over alone. Every change is logged with its reason.
    ///
    ///   bulkhead traffic serve --instance ns1 --peer-key peers.key DIR
    ///   bulkhead traffic serve --instance ns1 --listen 127.0.0.1:5353 DIR
    ///   bulkhead traffic serve --instance ns1 --live --peer-key peers.key DIR   # addresses from the clusters
    ///   bulkhead traffic serve --instance ns1 --transfer-key xfer.key DIR      # BIND may AXFR
    ///   bulkhead traffic serve --instance ns1 --primary 192.0.2.1:53 --primary-key update.key DIR
    ///
    /// Keys are BIND key files (`tsig-keygen NAME > NAME.key`).
    Serve(TrafficServeArgs),
}

/// `bulkhead traffic serve`.
#[derive(Debug, Args)]
pub struct TrafficServeArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Which of `spec.traffic.nameservers` this instance is.
    #[arg(long, value_name = "NAME", env = env_vars::BULKHEAD_TRAFFIC_INSTANCE)]
    pub instance: String,

    /// Where to answer DNS, UDP and TCP (default: the nameserver's address, port 53).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// Where to receive the peers' views (default: the nameserver's address
    /// and `peerPort`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub peer_listen: Option<std::net::SocketAddr>,

    /// The key every instance signs its views with (a BIND key file);
    /// required when the zone has more than one nameserver.
    #[arg(long, value_name = "FILE")]
    pub peer_key: Option<PathBuf>,

    /// A key that may transfer the zone (AXFR, over TCP) and sign queries;
    /// repeat for several. Without one, transfers are refused.
    #[arg(long, value_name = "FILE")]
    pub transfer_key: Vec<PathBuf>,

    /// A secondary to tell (NOTIFY) whenever the zone changes, so it
    /// transfers it at once; repeat for several.
    #[arg(long, value_name = "ADDR:PORT")]
    pub notify: Vec<std::net::SocketAddr>,

    /// An external primary (BIND) to keep updated with RFC 2136 dynamic
    /// updates of each hostname's addresses.
    #[arg(long, value_name = "ADDR:PORT", requires = "primary_key")]
    pub primary: Option<std::net::SocketAddr>,

    /// The key updates to `--primary` are signed with.
    #[arg(long, value_name = "FILE", requires = "primary")]
    pub primary_key: Option<PathBuf>,

    /// Responses per second to one source network (/24, /56) over UDP;
    /// beyond it answers are dropped, every `--slip`-th sent truncated.
    /// 0 turns rate limiting off.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub rate_limit: u32,

    /// Every how many rate-limited answers one goes out truncated, so a real
    /// client retries over TCP (0: drop them all).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub slip: u32,

    /// For sites the fleet gives no address for, read them from the status of
    /// the app's LoadBalancer Services, Ingresses and Gateways in its
    /// namespace on that cluster (once, at start).
    #[arg(long)]
    pub live: bool,

    /// Do not ask the clusters' API whether each app's workloads have a pod
    /// available (by default it is asked on every cluster with `access`, and
    /// a site whose workloads have none counts as a failed probe).
    #[arg(long)]
    pub no_api_health: bool,

    /// Stop after this long (default: run until stopped).
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub run_for: Option<std::time::Duration>,
}

/// `bulkhead etcd …`.
#[derive(Debug, Subcommand)]
pub enum EtcdCommand {
    /// Take a full snapshot of a cluster's etcd now, verified, into the
    /// repository (or `--out FILE`).
    Snapshot(EtcdSnapshotArgs),

    /// Read a snapshot offline (no etcd needed): its revision, the objects
    /// per resource with their sizes, the largest, what is encrypted.
    ///
    ///   bulkhead etcd inspect etcd.db
    ///   bulkhead etcd inspect --objects etcd.db            # every object, with revision and size
    ///   bulkhead etcd inspect --cluster metal-ams1-prod latest --fleet DIR   # from the repository
    Inspect(EtcdInspectArgs),

    /// Write objects from a snapshot as clean YAML, ready for `kubectl
    /// apply` (the cleaning `export` does): one object deleted by mistake
    /// comes back from last night's snapshot with one command.
    ///
    ///   bulkhead etcd extract etcd.db deployment/shop/web > web.yaml
    ///   bulkhead etcd extract etcd.db configmaps/shop/'*' namespace/shop
    ///   bulkhead etcd extract --cluster metal-ams1-prod latest secret/shop/db --fleet DIR
    Extract(EtcdExtractArgs),

    /// Back etcd up continuously: every change from etcd's watch, stored in
    /// delta segments every few seconds (a write is in the repository within
    /// about `--flush-every` plus one store), with a new full snapshot now
    /// and then. Resumes from the last revision stored, after any restart,
    /// without a gap; runs until stopped (or `--for`).
    ///
    ///   bulkhead etcd watch --cluster metal-ams1-prod DIR
    ///   bulkhead etcd watch --cluster metal-ams1-prod --flush-every 1s --full-every 30m -o json DIR
    Watch(EtcdWatchArgs),

    /// Remove old etcd backups of a cluster by its policy's keep rules (or
    /// `--keep-*`): full snapshots the rules do not keep, and the delta
    /// segments older than the oldest full snapshot kept (no restore can
    /// use them). `bulkhead backup prune` frees their data.
    ///
    ///   bulkhead etcd forget --cluster metal-ams1-prod --dry-run DIR
    Forget(EtcdForgetArgs),

    /// Rebuild an etcd data directory from the repository: the newest full
    /// snapshot at or before the chosen point, plus the changes after it,
    /// replayed offline; the revision bumped and marked compacted so API
    /// servers' caches relist (needs `etcdutl` on PATH, of etcd's version).
    ///
    ///   bulkhead etcd restore --cluster metal-ams1-prod --to /var/lib/etcd-restored DIR
    ///   bulkhead etcd restore --cluster metal-ams1-prod --to /var/lib/etcd-restored --time 2026-12-01T03:00:00Z DIR
    Restore(EtcdRestoreArgs),
}

/// `bulkhead etcd watch`.
#[derive(Debug, Args)]
pub struct EtcdWatchArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository (default: the fleet's only one).
    #[command(flatten)]
    pub repo: RepoArg,

    /// The cluster whose etcd is watched.
    #[arg(long)]
    pub cluster: String,

    /// How often changes are stored.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    pub flush_every: std::time::Duration,

    /// A new full snapshot after this long.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    pub full_every: std::time::Duration,

    /// A new full snapshot after this many MiB of changes.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub full_after_mib: u64,

    /// Changes held in memory while the repository is unreachable, in MiB;
    /// past it the watch pauses (etcd keeps the history) and nothing is dropped.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_pending_mib: usize,

    /// Stop after this long (default: run until stopped).
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub run_for: Option<std::time::Duration>,

    /// Output format: a line per event as it happens (`json`: one JSON
    /// object per line) [default: human, or BULKHEAD_OUTPUT when it is one
    /// of these].
    #[arg(long, short, value_enum)]
    pub output: Option<DataOutput>,
}

/// `bulkhead etcd forget`.
#[derive(Debug, Args)]
pub struct EtcdForgetArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository (default: the etcd policy's).
    #[command(flatten)]
    pub repo: RepoArg,

    /// The cluster whose etcd backups are kept to their rules.
    #[arg(long)]
    pub cluster: String,

    /// Keep rules instead of the policy's (`controlPlane.etcd.backup`).
    #[command(flatten)]
    pub keep: KeepArgs,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead etcd restore`.
#[derive(Debug, Args)]
pub struct EtcdRestoreArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository (default: the fleet's only one).
    #[command(flatten)]
    pub repo: RepoArg,

    /// The cluster whose etcd is restored.
    #[arg(long)]
    pub cluster: String,

    /// The new data directory (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,

    /// Restore to this revision (default: the newest stored).
    #[arg(long, value_name = "REVISION", conflicts_with = "time")]
    pub revision: Option<i64>,

    /// Restore to what was stored by this time (RFC 3339, or `2h` ago).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,

    /// The member's name (etcd's `--name`).
    #[arg(long, default_value = "default")]
    pub name: String,

    /// The cluster's members (etcd's `--initial-cluster`), e.g.
    /// `node0=https://10.0.0.1:2380`; default: this member alone.
    #[arg(long, value_name = "NAME=URL,…")]
    pub initial_cluster: Option<String>,

    /// This member's peer URL (etcd's `--initial-advertise-peer-urls`).
    #[arg(long, value_name = "URL")]
    pub initial_advertise_peer_urls: Option<String>,

    /// How far the revision is bumped past the restored one (and marked
    /// compacted), so watch caches cannot serve objects newer than the
    /// restore (kubernetes#118501). 0 turns it off (not advised).
    #[arg(long, value_name = "N", default_value_t = 1_000_000_000)]
    pub bump_revision: u64,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// Which snapshot `etcd inspect` and `etcd extract` read.
#[derive(Debug, Args)]
pub struct EtcdSourceArgs {
    /// A snapshot file (`etcd snapshot --out`, `etcdctl snapshot save`, or
    /// a member's `member/snap/db`, copied while etcd is stopped); with
    /// `--cluster`, a snapshot in the repository: `latest` or an id.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: String,

    /// Read SNAPSHOT from the repository, among this cluster's etcd snapshots.
    #[arg(long)]
    pub cluster: Option<String>,

    /// The repository, with `--cluster` (default: the fleet's only one).
    #[command(flatten)]
    pub repo: RepoArg,

    /// The fleet, with `--cluster`.
    #[arg(long, value_name = "DIR", env = env_vars::BULKHEAD_FLEET, default_value = ".")]
    pub fleet: PathBuf,

    /// The objects as they were at this revision (the snapshot keeps the
    /// history since its last compaction); default: its newest.
    #[arg(long, value_name = "REVISION")]
    pub revision: Option<i64>,

    /// The API server's EncryptionConfiguration (its
    /// `--encryption-provider-config`): values encrypted at rest with its
    /// aescbc, aesgcm or secretbox keys are decrypted (KMS ones cannot be).
    #[arg(long, value_name = "FILE")]
    pub encryption_config: Option<PathBuf>,
}

/// `bulkhead etcd inspect`.
#[derive(Debug, Args)]
pub struct EtcdInspectArgs {
    /// The snapshot.
    #[command(flatten)]
    pub source: EtcdSourceArgs,

    /// List every object (resource, namespace, name, revision, bytes), not
    /// only the counts and the largest.
    #[arg(long)]
    pub objects: bool,

    /// How many of the largest objects to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub largest: usize,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead etcd extract`.
#[derive(Debug, Args)]
pub struct EtcdExtractArgs {
    /// The snapshot.
    #[command(flatten)]
    pub source: EtcdSourceArgs,

    /// Objects, as `KIND/NAMESPACE/NAME` or `KIND/NAME` (cluster-scoped).
    /// KIND is a kind or a resource, any case, singular or plural, or
    /// kubectl's short name (`deployment`, `Deployments`, `deploy`); NAME
    /// may be `*` for all.
    #[arg(value_name = "KIND/NS/NAME", required = true)]
    pub objects: Vec<String>,

    /// Write them as stored: no cleaning (status, uid, resourceVersion,
    /// managed fields kept).
    #[arg(long)]
    pub raw: bool,

    /// Output format: YAML documents (default) or `json` (a List).
    #[arg(long, short, value_enum, default_value_t = ExtractOutput::Yaml)]
    pub output: ExtractOutput,
}

/// What `etcd extract` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExtractOutput {
    /// YAML documents separated by `---`.
    Yaml,
    /// One JSON `List`.
    Json,
}

/// `bulkhead etcd snapshot`.
#[derive(Debug, Args)]
pub struct EtcdSnapshotArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository (default: the fleet's only one). With `--out` and no
    /// `--repo`, nothing is stored in a repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// The cluster whose etcd is snapshotted (`controlPlane.etcd.access`
    /// says how to reach it).
    #[arg(long)]
    pub cluster: String,

    /// Also keep the snapshot as this file (etcd's own format with its
    /// SHA-256 trailer, as `etcdctl snapshot save` writes it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead drill …`.
#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Run a drill now: a `dr.drills` entry by name, or `--app --from --to`.
    Run(DrillRunArgs),
    /// The drills recorded in the repository, oldest first (JSON and JUnit for CI).
    History(DrillHistoryArgs),
}

/// `bulkhead drill run`.
#[derive(Debug, Args)]
pub struct DrillRunArgs {
    /// A drill of fleet.yaml's `dr.drills` (none with `--app`: then the one
    /// positional argument is the fleet).
    #[arg(value_name = "DRILL")]
    pub name: Option<String>,

    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository (default: the app's policy's).
    #[command(flatten)]
    pub repo: RepoArg,

    /// The app to recover (instead of a drill name).
    #[arg(long)]
    pub app: Option<String>,

    /// The cluster whose newest backup of the app is restored.
    #[arg(long)]
    pub from: Option<String>,

    /// The cluster to recover into (with `--app`).
    #[arg(long)]
    pub to: Option<String>,

    /// How long the workloads may take to become available.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,

    /// Leave the scratch namespaces in place (to look into a failure).
    #[arg(long)]
    pub keep: bool,

    /// Objects applied at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,

    /// Output format [default: human, or BULKHEAD_OUTPUT when it is one of
    /// these; its other values are for the analyses and are ignored here].
    #[arg(long, short, value_enum)]
    pub output: Option<DrillOutput>,
}

/// `bulkhead drill history`.
#[derive(Debug, Args)]
pub struct DrillHistoryArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// Only this app's drills.
    #[arg(long)]
    pub app: Option<String>,

    /// Output format (`junit`: one test case per drill) [default: human,
    /// or BULKHEAD_OUTPUT when it is one of these].
    #[arg(long, short, value_enum)]
    pub output: Option<DrillOutput>,
}

/// `bulkhead backup show`.
#[derive(Debug, Args)]
pub struct BackupShowArgs {
    /// The snapshot: its id (or a prefix of it), or `latest`.
    #[arg(value_name = "SNAPSHOT")]
    pub snapshot: String,

    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// With `latest`: the newest snapshot of this cluster.
    #[arg(long)]
    pub cluster: Option<String>,

    /// With `latest`: the newest snapshot of this app.
    #[arg(long)]
    pub app: Option<String>,

    /// List every object, not only the counts per resource.
    #[arg(long)]
    pub objects: bool,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead backup diff`.
#[derive(Debug, Args)]
pub struct BackupDiffArgs {
    /// The older snapshot: an id (or a prefix of it), or `latest`.
    #[arg(value_name = "SNAPSHOT_A")]
    pub first: String,

    /// The newer snapshot: an id (or a prefix of it), or `latest`.
    #[arg(value_name = "SNAPSHOT_B")]
    pub second: String,

    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// With `latest`: the newest snapshot of this cluster.
    #[arg(long)]
    pub cluster: Option<String>,

    /// With `latest`: the newest snapshot of this app.
    #[arg(long)]
    pub app: Option<String>,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// Keep rules given as flags (restic's `--keep-*`).
#[derive(Debug, Args)]
pub struct KeepArgs {
    /// Keep the newest N of each group (instead of the policies' rules).
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,

    /// Keep the newest of each of the last N hours that have one.
    #[arg(long, value_name = "N")]
    pub keep_hourly: Option<u32>,

    /// Keep the newest of each of the last N days that have one.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,

    /// Keep the newest of each of the last N weeks that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,

    /// Keep the newest of each of the last N months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
}

/// `bulkhead backup forget`.
#[derive(Debug, Args)]
pub struct BackupForgetArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// Only the snapshots of the apps that use this policy (and its repository).
    #[arg(long)]
    pub policy: Option<String>,

    /// Only this cluster's snapshots.
    #[arg(long)]
    pub cluster: Option<String>,

    /// Only this app's snapshots.
    #[arg(long)]
    pub app: Option<String>,

    /// Keep rules instead of the policies'.
    #[command(flatten)]
    pub keep: KeepArgs,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead backup prune`.
#[derive(Debug, Args)]
pub struct BackupPruneArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// Delete unused packs at once (only when nothing else writes the repository).
    #[arg(long)]
    pub now: bool,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead backup check`.
#[derive(Debug, Args)]
pub struct BackupCheckArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// Read and verify all data too (slower: every pack is downloaded).
    #[arg(long)]
    pub read_data: bool,
}

/// The output format of a command that prints data (reports, listings):
/// human text or JSON.
#[derive(Debug, Clone, Copy, Args)]
pub struct DataOutputArg {
    /// Output format [default: human, or BULKHEAD_OUTPUT when it is one of
    /// these; its other values are for the analyses and are ignored here].
    #[arg(long, short, value_enum)]
    pub output: Option<DataOutput>,
}

/// Which repository, and its password.
#[derive(Debug, Args)]
pub struct RepoArg {
    /// A repository of the fleet's `dr.repositories`, by name (its password
    /// comes from its `passwordEnv` or `passwordFile`), or a restic URL (a
    /// path, `local:/path`, `s3:https://host/bucket/prefix`; password from
    /// RESTIC_PASSWORD_FILE or RESTIC_PASSWORD). Default: the app's policy's
    /// repository, or the fleet's only one. S3 keys: AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_name = "NAME|URL")]
    pub repo: Option<String>,
}

/// `bulkhead backup create`.
#[derive(Debug, Args)]
pub struct BackupCreateArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// The cluster to back up (every cluster the app runs on, with `--app`).
    #[arg(long)]
    pub cluster: Option<String>,

    /// Back up exactly one app: its namespaces, tagged `app=NAME`.
    #[arg(long, conflicts_with = "policy")]
    pub app: Option<String>,

    /// Back up every app whose `backup.policy` is this policy, on every
    /// cluster it is placed on, into the policy's repository (what a cron
    /// job runs on the policy's schedule).
    #[arg(long, conflicts_with = "cluster")]
    pub policy: Option<String>,

    /// Only this namespace (repeat for more); cluster-scoped objects are then left out.
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Only this resource (`configmaps`, `deployments.apps`; repeat for more).
    #[arg(long = "resource", value_name = "RESOURCE")]
    pub resources: Vec<String>,

    /// Never this resource (repeat for more).
    #[arg(long = "exclude-resource", value_name = "RESOURCE")]
    pub exclude_resources: Vec<String>,

    /// Only objects whose labels match, in Kubernetes' selector syntax,
    /// selected by the API server: `app=web,tier!=cache`, `env in
    /// (prod,staging)`, `env notin (dev)`, `team` (has it), `!legacy`.
    #[arg(long, short = 'l', value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// Keep what controllers regenerate (Endpoints, EndpointSlices, owned Pods and ReplicaSets, …).
    #[arg(long)]
    pub include_noise: bool,

    /// Resources listed at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,

    /// Take no CSI volume snapshots: claims are backed up as objects, and a
    /// restore brings them back empty. By default every bound claim whose
    /// class's driver has a VolumeSnapshotClass (the fleet's
    /// `snapshotClass`, else the driver's default) gets a VolumeSnapshot,
    /// crash-consistent, kept with the backup.
    #[arg(long)]
    pub no_volume_snapshots: bool,

    /// How long to wait for all volume snapshots to be ready before the
    /// backup fails (and removes the ones it took).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub volume_snapshot_timeout: std::time::Duration,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead backup list`.
#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// Only snapshots of this cluster.
    #[arg(long)]
    pub cluster: Option<String>,

    /// Only snapshots of this app.
    #[arg(long)]
    pub app: Option<String>,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `bulkhead restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// The repository.
    #[command(flatten)]
    pub repo: RepoArg,

    /// The snapshot: its id (or a unique prefix), or `latest`.
    #[arg(long, value_name = "SNAPSHOT|latest")]
    pub from: String,

    /// With `--from latest`: the newest snapshot of this cluster.
    #[arg(long, value_name = "CLUSTER")]
    pub source_cluster: Option<String>,

    /// With `--from latest`: the newest snapshot of this app.
    #[arg(long)]
    pub app: Option<String>,

    /// The fleet's cluster to restore into.
    #[arg(long, value_name = "CLUSTER")]
    pub to: String,

    /// Only objects of this (source) namespace (repeat for more); cluster-scoped objects are then left out.
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Only objects of this kind (`ConfigMap`; repeat for more).
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,

    /// Restore namespace OLD as NEW (repeat for more); binding subjects follow.
    #[arg(long = "namespace-map", value_name = "OLD=NEW")]
    pub namespace_map: Vec<String>,

    /// Give claims and volumes of storage class OLD the class NEW (repeat for more).
    ///
    /// Without it, each class the target lacks is matched from fleet.yaml's
    /// `storageClasses`: the target's class of the same topology giving the
    /// same access modes (same provisioner first, then the default). A class
    /// with no match stops the restore before anything is written.
    #[arg(long = "storage-class-map", value_name = "OLD=NEW")]
    pub storage_class_map: Vec<String>,

    /// What to do with objects that exist in the target: leave them
    /// (`skip`), apply the snapshot's fields over them (`update`), or count
    /// them as failures (`fail`).
    #[arg(long, value_enum, default_value_t = ExistingArg::Update)]
    pub existing: ExistingArg,

    /// Restore a claim empty when the target cannot use its volume snapshot.
    ///
    /// A claim the backup snapshotted is provisioned from that snapshot:
    /// on its own cluster and namespace from the VolumeSnapshot itself,
    /// elsewhere from a VolumeSnapshotContent made from the driver's
    /// recorded handle. Where the target's class has another driver (or
    /// the target has no snapshot API), the claim would come back without
    /// its data: the restore stops before anything is written, naming each
    /// such claim, unless this is given.
    #[arg(long)]
    pub allow_empty_volumes: bool,

    /// Change nothing: send every object as a server-side dry run and show
    /// the plan (create, update with the fields that change, unchanged,
    /// skipped, would fail and why).
    #[arg(long)]
    pub dry_run: bool,

    /// Objects applied at once within a phase.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,

    /// The output format.
    #[command(flatten)]
    pub output: DataOutputArg,
}

/// `--existing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExistingArg {
    /// Leave existing objects as they are.
    Skip,
    /// Apply the snapshot's fields over them.
    Update,
    /// Count them as failures.
    Fail,
}

/// `bulkhead net …`.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Allocate every `auto` range and record it in net.lock.json.
    ///
    /// Each cluster gets a node (VPC) range cut into per-zone private, public
    /// and spare subnets, a pod range sized for its node pools and pod
    /// density with headroom, a Service range, and on bare metal a
    /// load-balancer pool; IPv4 and IPv6 from the matching supernets. Ranges
    /// written in fleet.yaml are kept as written, and ranges already in the
    /// lock never move when clusters are added or removed.
    Plan(NetPlanArgs),

    /// Check every range for overlaps, room and drift.
    ///
    /// Looks at ranges written in fleet.yaml, planned in net.lock.json,
    /// declared external, and with `--live` used by the running clusters
    /// (nodes' pod ranges, ServiceCIDRs or Services' cluster IPs, MetalLB
    /// pools). Each overlap names both owners and the range they share.
    Check(NetCheckArgs),
}

/// `bulkhead net plan`.
#[derive(Debug, Args)]
pub struct NetPlanArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Fail (exit 1) instead of writing when the lock file would change, as
    /// in CI.
    #[arg(long, conflicts_with = "dry_run")]
    pub locked: bool,

    /// Show the plan without writing the lock file.
    #[arg(long)]
    pub dry_run: bool,

    /// Also write one `<cluster>.auto.tfvars.json` per cluster into DIR, for
    /// Terraform.
    #[arg(long, value_name = "DIR")]
    pub tfvars: Option<PathBuf>,

    /// Output format [default: human, or BULKHEAD_OUTPUT when it is `human`
    /// or `json`; other values of that variable are meant for reporting
    /// commands and are ignored here].
    #[arg(long, short, value_enum)]
    pub output: Option<PlanOutput>,
}

/// `bulkhead net check`.
#[derive(Debug, Args)]
pub struct NetCheckArgs {
    /// The fleet.
    #[command(flatten)]
    pub fleet: FleetArg,

    /// Also read the ranges the clusters use now, through each cluster's
    /// `access` kubeconfig.
    #[arg(long)]
    pub live: bool,

    /// Also check ranges listed in FILE, one `CIDR,OWNER` per line (an IPAM
    /// export, such as NetBox's prefixes); `#` starts a comment.
    #[arg(long, value_name = "FILE")]
    pub ranges: Option<PathBuf>,

    /// The lowest severity that fails the check (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Human, env = env_vars::BULKHEAD_OUTPUT)]
    pub output: Output,
}

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanOutput {
    /// A table for people.
    Human,
    /// One JSON document, for scripts.
    Json,
}

/// Output formats of the commands that report what they did (backups,
/// restores, etcd): a table for people, or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataOutput {
    /// A table for people.
    Human,
    /// One JSON document, for scripts.
    Json,
}

/// Output formats of a drill: JUnit too, for CI's test reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DrillOutput {
    /// A report for people.
    Human,
    /// One JSON document, for scripts.
    Json,
    /// JUnit XML: a test case per drill.
    Junit,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Tables and source snippets for people.
    Human,
    /// One JSON document, for scripts.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Severity thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on errors only.
    Error,
    /// Fail on warnings too.
    Warning,
}
