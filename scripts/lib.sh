# What the scripts share (sourced, not run): the default ports and the helpers. The sourcing
# script sets `say`'s prefix in SAY_AS first.

# The default ports, each overridden by its variable: the one place the shell scripts take them
# from (test-e2e.sh exports the URLs below for the e2e harness). The Rust defaults stay in Rust.
: "${VMM_MQTT_PORT:=1883}"         # Mosquitto, MQTT over TCP (services.sh)
: "${VMM_WS_PORT:=9001}"           # Mosquitto, MQTT over WebSockets: what browsers connect to
: "${VMM_WS_AUTH_PORT:=9002}"      # Mosquitto, MQTT over WebSockets with a password: refuses anonymous clients (e2e)
: "${VMM_MONGO_PORT:=27017}"       # FerretDB on SQLite (services.sh)
: "${VMM_SECURE_MQTT_PORT:=1884}"  # Mosquitto, the secure profile: MQTT over TCP, password, ACL, client-id plugin
: "${VMM_MQTTS_PORT:=8883}"        # the secure profile: MQTT over TLS (server certificate of .run/secure/ca.crt), password
: "${VMM_MQTTS_CERT_PORT:=8884}"   # the secure profile: MQTT over TLS, a client certificate of that CA instead of a password
: "${VMM_SECURE_WS_PORT:=9003}"    # the secure profile: MQTT over WebSockets, password
: "${VMM_WSS_PORT:=9443}"          # the secure profile: MQTT over secure WebSockets (TLS), password
: "${VMM_MONGO_TLS_PORT:=27019}"   # FerretDB on SQLite, TLS listener of the same process (services.sh)
: "${VMM_DEMO_PORT:=5173}"         # the demo app (demo.sh)
: "${VMM_DEMO_HTTP_PORT:=9464}"    # the demo bridge's /healthz and /metrics (demo.sh)
: "${VMM_PG_PORT:=5433}"           # PostgreSQL (postgres.sh)
: "${VMM_MONGO_PG_PORT:=27018}"    # FerretDB on PostgreSQL (postgres.sh)
# The RabbitMQ cluster of scripts/cluster.sh: two nodes on this machine, each its own ports.
: "${VMM_CLUSTER_MQTT_PORT_1:=1893}"   # node vmm1, MQTT over TCP
: "${VMM_CLUSTER_MQTT_PORT_2:=1894}"   # node vmm2, MQTT over TCP
: "${VMM_CLUSTER_WS_PORT_1:=15675}"    # node vmm1, Web MQTT (MQTT over WebSockets, path /ws)
: "${VMM_CLUSTER_WS_PORT_2:=15676}"    # node vmm2, Web MQTT
: "${VMM_CLUSTER_AMQP_PORT_1:=5682}"   # node vmm1, AMQP 0-9-1 (unused by vmm; RabbitMQ always listens)
: "${VMM_CLUSTER_AMQP_PORT_2:=5683}"   # node vmm2, AMQP
: "${VMM_CLUSTER_DIST_PORT_1:=25682}"  # node vmm1, Erlang distribution (the nodes talk to each other)
: "${VMM_CLUSTER_DIST_PORT_2:=25683}"  # node vmm2, Erlang distribution
: "${VMM_CLUSTER_CTL_PORT:=35682}"     # rabbitmqctl's own distribution port: this one and the next 10
: "${VMM_CLUSTER_EPMD_PORT:=4379}"     # the cluster's own epmd (Erlang's name server), not the default 4369

# The services as the scripts and tests reach them: VMM_MQTT_URL / VMM_MONGODB_URI / VMM_WS_URL
# when set (other infrastructure; services.sh then starts nothing), else the local services on
# the ports above. Not exported: an exported VMM_MQTT_URL would tell services.sh to start nothing.
mqtt_url=${VMM_MQTT_URL:-mqtt://127.0.0.1:$VMM_MQTT_PORT}
mongodb_uri=${VMM_MONGODB_URI:-mongodb://127.0.0.1:$VMM_MONGO_PORT}
ws_url=${VMM_WS_URL:-ws://127.0.0.1:$VMM_WS_PORT}
# A broker that refuses a client without credentials (CONNACK "not authorized"): the e2e tests of
# an unreachable broker. Set VMM_WS_AUTH_URL to such a listener of other infrastructure.
ws_auth_url=${VMM_WS_AUTH_URL:-ws://127.0.0.1:$VMM_WS_AUTH_PORT}
# The secure profile (scripts/secure.sh, docs/SECURITY.md): its files, and its listeners as the
# demo and the e2e tests reach them.
secure_dir=${VMM_SECURE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.run/secure}
secure_ws_url=ws://127.0.0.1:$VMM_SECURE_WS_PORT
wss_url=wss://127.0.0.1:$VMM_WSS_PORT
mqtts_url=mqtts://127.0.0.1:$VMM_MQTTS_PORT

say() { printf '%s: %s\n' "${SAY_AS:-vmm}" "$*"; }

# 0 if something listens on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts the services (scripts/services.sh); when that fails because another checkout's services
# already hold the default ports, uses them rather than fail.
start_services() {
  bash "$(dirname "${BASH_SOURCE[0]}")/services.sh" start && return 0
  if [[ -z ${VMM_MQTT_URL:-} && -z ${VMM_MONGODB_URI:-} ]] &&
     port_open "$VMM_MQTT_PORT" && port_open "$VMM_WS_PORT" && port_open "$VMM_MONGO_PORT"; then
    say "using the MQTT broker and MongoDB already listening on 127.0.0.1"
    return 0
  fi
  return 1
}

# 0 if the pid file $1 (its first line) names a live process.
pid_alive() { [[ -f $1 ]] && kill -0 "$(head -n 1 "$1")" 2>/dev/null; }

# Stops the process of pid file $2 (SIGTERM, then SIGKILL after 5 s), says so as $1, and
# removes the pid file.
stop_pid_file() {
  local name=$1 pid_file=$2
  [[ -f $pid_file ]] || return 0
  local pid; pid=$(head -n 1 "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "stopped $name (pid $pid)"
  fi
  rm -f "$pid_file"
}
