# Sourced by the scripts that start servers (start-jaeger, start-rabbitmq, start-prometheus).
#
# pid_alive PID [NAME]: the process exists, is not a zombie (PID 1 of a container may reap
# late) and, when NAME is given, its command line contains NAME. No pipeline: under
# `set -o pipefail` a `tr | grep -q` check can report a live process as gone (the watch
# suite once saw a ready Prometheus declared "exited").
pid_alive() {
  [[ -n "${1:-}" ]] || return 1
  local state cmd
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ "$state" != Z* ]] || return 1
  [[ -n "${2:-}" ]] || return 0
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *"$2"* ]]
}

# pid_gone PID [NAME]: pid_alive has failed twice, half a second apart (a server that really
# exited stays gone; one slow look at /proc on a loaded machine does not end a start).
pid_gone() {
  pid_alive "$@" && return 1
  sleep 0.5
  ! pid_alive "$@"
}
