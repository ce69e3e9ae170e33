# Helpers shared by the service scripts (sourced, not run). The sourcing script sets `say`'s
# prefix in SAY_AS first.

say() { printf '%s: %s\n' "${SAY_AS:-vmm}" "$*"; }

# 0 if something listens on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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
