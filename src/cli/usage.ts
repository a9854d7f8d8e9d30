/** Help texts, kept together so `lanner --help` and each command's --help agree. */

export const MAIN_HELP = `lanner: runtime anomaly detection on Falco's event stream

Usage:
  lanner run [flags]           run the detector as a service
  lanner replay FILE|- [flags] run Falco JSON lines through detection, alerts on stdout
  lanner demo [--follow]       run the detector end to end against a built-in Falco stand-in
  lanner check [--config F]    check the config and its rules together, offline, before a rollout
  lanner plugins [--markdown]  list the sources, outputs, responders and stateful rule kinds
  lanner rules lint PATH...    check rule files: every problem as file:line:col
  lanner rules test PATH...    run rule tests: attack and benign events, the alerts expected
  lanner baseline show|reset   inspect or forget learned baseline profiles
  lanner quarantine NS/POD     isolate a pod (network deny-all, kept running); list shows them
  lanner release NS/POD        end a pod's quarantine
  lanner --version

Run 'lanner COMMAND --help' for a command's flags.
`;

export const RUN_HELP = `Usage: lanner run [flags]

Runs the detector: Falco events in over gRPC (Falco <= 0.43) and/or HTTP (Falco's http_output,
Falco >= 0.44), alerts out to the configured outputs (stdout as JSON lines when none is set).
Logs are JSON on stderr. SIGTERM or SIGINT drains, flushes and exits 0.

Flags (each overrides the config file and LANNER_* environment):
  --config FILE              lanner.yaml to read (default: ./lanner.yaml if it exists)
  --falco-grpc ADDR          Falco gRPC address: unix:///run/falco/falco.sock or HOST:PORT (mTLS)
  --ingest-listen HOST:PORT  receive Falco http_output posts here (e.g. 0.0.0.0:9377)
  --metrics-listen HOST:PORT /metrics, /healthz, /readyz (default 127.0.0.1:9376)
  --rules PATH               rule file or directory (repeatable)
  --input FILE               also read Falco JSON lines from FILE, "-" for stdin (repeatable)
  -h, --help                 this help
`;

export const REPLAY_HELP = `Usage: lanner replay FILE|- [flags]

Reads Falco JSON lines (Falco's file_output, a capture, a replay) from FILE or stdin, runs them
through detection and writes alerts as native JSON lines on stdout, then a summary on stderr.
Event time drives every window, so a replay gives the alerts the live stream gave.
Exit status: 0 when the input was read, 2 on bad usage or configuration.

Flags:
  --config FILE      lanner.yaml whose rules and settings to use
  --rules PATH       rule file or directory (repeatable)
  --format FORMAT    json (default, Lanner's native JSON), pretty, or a SIEM format:
                     native, ecs, ocsf, cef, syslog
  -h, --help         this help
`;

export const DEMO_HELP = `Usage: lanner demo [flags]

Starts the real service against a built-in Falco stand-in (a gRPC server speaking Falco's proto
on a temporary unix socket) that replays a scenario written for the demo: an attack on a web
shop's pod among benign noise. Alerts print readably on a terminal and as JSON lines when piped;
/metrics is served while it runs; a summary ends it.

Flags:
  --follow                   keep running after the scenario (Ctrl-C to stop)
  --metrics-listen HOST:PORT where to serve /metrics (default 127.0.0.1:9376, or a free port if taken)
  --fast                     no pauses between scenario events
  -h, --help                 this help
`;
