#!/usr/bin/env bash
# neo4j-local.sh — run a real Neo4j Community 5.26 server (with Neo4j Browser)
# on loopback, without Docker: the jars come from Maven Central via pom.xml.
#
# Usage: neo4j-local.sh {start|stop|restart|status|fetch}
#
#   fetch    download the server jars into $GRAPHMEM_NEO4J_DIR/lib (only when
#            missing or when pom.xml changed; Maven's cache stays in ~/.m2)
#   start    fetch if needed, write neo4j.conf, set the initial password on the
#            first start, launch the server in the background and wait until
#            Bolt answers and an authenticated query over HTTP succeeds
#   stop     SIGTERM, wait, SIGKILL after $GRAPHMEM_NEO4J_STOP_TIMEOUT seconds
#   status   say whether it runs (exit 0 when running, 3 when not)
#
# Environment (defaults in brackets):
#   GRAPHMEM_NEO4J_DIR            state folder [<repo>/.neo4j] (git-ignored)
#   GRAPHMEM_NEO4J_BOLT_PORT      Bolt port on 127.0.0.1 [7687]
#   GRAPHMEM_NEO4J_HTTP_PORT      HTTP port on 127.0.0.1 [7474]
#   GRAPHMEM_NEO4J_PASSWORD       initial password of user neo4j [graphmem-dev]
#                                 (applied on the first start only; >= 8 chars)
#   GRAPHMEM_NEO4J_HEAP_INITIAL   JVM heap initial size [512m]
#   GRAPHMEM_NEO4J_HEAP_MAX       JVM heap max size [1g]
#   GRAPHMEM_NEO4J_PAGECACHE      page cache size [512m]
#   GRAPHMEM_NEO4J_START_TIMEOUT  seconds to wait for readiness [120]
#   GRAPHMEM_NEO4J_STOP_TIMEOUT   seconds to wait before SIGKILL [60]
#   JAVA_HOME / MVN               Java 17+ and Maven to use [java / mvn on PATH]
#
# Files: $GRAPHMEM_NEO4J_DIR/{lib,home/conf/neo4j.conf,data,logs,run}.
# Logs: logs/neo4j.log (server), logs/debug.log, logs/console.log (JVM
# stdout/stderr), logs/fetch.log (Maven output of the last fetch).
# Browser: http://127.0.0.1:7474/browser/ (user neo4j, the password above).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
POM="$SCRIPT_DIR/pom.xml"

NEO4J_DIR="${GRAPHMEM_NEO4J_DIR:-$REPO/.neo4j}"
BOLT_PORT="${GRAPHMEM_NEO4J_BOLT_PORT:-7687}"
HTTP_PORT="${GRAPHMEM_NEO4J_HTTP_PORT:-7474}"
PASSWORD="${GRAPHMEM_NEO4J_PASSWORD:-graphmem-dev}"
HEAP_INITIAL="${GRAPHMEM_NEO4J_HEAP_INITIAL:-512m}"
HEAP_MAX="${GRAPHMEM_NEO4J_HEAP_MAX:-1g}"
PAGECACHE="${GRAPHMEM_NEO4J_PAGECACHE:-512m}"
START_TIMEOUT="${GRAPHMEM_NEO4J_START_TIMEOUT:-120}"
STOP_TIMEOUT="${GRAPHMEM_NEO4J_STOP_TIMEOUT:-60}"
MVN="${MVN:-mvn}"
if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
  JAVA="${JAVA_HOME}/bin/java"
else
  JAVA="java"
fi

LIB_DIR="$NEO4J_DIR/lib"
STAMP_FILE="$NEO4J_DIR/lib.stamp"
HOME_DIR="$NEO4J_DIR/home"
CONF_DIR="$HOME_DIR/conf"
DATA_DIR="$NEO4J_DIR/data"
LOGS_DIR="$NEO4J_DIR/logs"
RUN_DIR="$NEO4J_DIR/run"
IMPORT_DIR="$NEO4J_DIR/import"
PLUGINS_DIR="$NEO4J_DIR/plugins"
PID_FILE="$RUN_DIR/neo4j-local.pid"
CONSOLE_LOG="$LOGS_DIR/console.log"
SERVER_LOG="$LOGS_DIR/neo4j.log"
FETCH_LOG="$LOGS_DIR/fetch.log"
# A marker on the java command line, so that a pid is only ever taken for
# this server (and not for an unrelated process that reused the pid).
MARKER="-Dgraphmem.neo4j.local=$NEO4J_DIR"
MAIN_CLASS="org.neo4j.server.CommunityEntryPoint"

log() { printf 'neo4j-local: %s\n' "$*"; }
err() { printf 'neo4j-local: error: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

check_port_number() {
  local name="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
    die "$name must be a port number, got '$value'"
  fi
}

pom_hash() {
  sha256sum "$POM" | cut -d' ' -f1
}

jars_present() {
  [[ -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$(pom_hash)" ]] || return 1
  compgen -G "$LIB_DIR/neo4j-[0-9]*.jar" >/dev/null || return 1
  compgen -G "$LIB_DIR/neo4j-browser-*.jar" >/dev/null || return 1
}

cmd_fetch() {
  if jars_present; then
    log "jars already present in $LIB_DIR (pom unchanged), not fetching"
    return 0
  fi
  local pid
  if pid="$(running_pid)"; then
    die "the server runs (pid $pid) on jars that need refreshing; run '$0 stop' first"
  fi
  command -v "$MVN" >/dev/null 2>&1 || die "Maven ('$MVN') not found; install maven or set MVN"
  mkdir -p "$NEO4J_DIR" "$LOGS_DIR"
  local tmp="$NEO4J_DIR/lib.tmp.$$"
  rm -rf "$tmp"
  log "fetching Neo4j jars from Maven Central into $LIB_DIR (log: $FETCH_LOG)"
  if ! "$MVN" -B -ntp -f "$POM" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >"$FETCH_LOG" 2>&1; then
    rm -rf "$tmp"
    err "Maven failed; last lines of $FETCH_LOG:"
    tail -n 30 "$FETCH_LOG" >&2 || true
    exit 1
  fi
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  pom_hash >"$STAMP_FILE"
  log "fetched $(find "$LIB_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIB_DIR" | cut -f1))"
}

# Prints the pid of the running server, or fails.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # The pid must still be our java process (marker on its command line).
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "$MARKER" || return 1
  fi
  printf '%s\n' "$pid"
}

port_open() {
  # bash's /dev/tcp: succeeds when something accepts a TCP connection.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# 0: an authenticated Cypher query over the HTTP API succeeded.
# 1: not (yet) answering. 2: answered, but the credentials were rejected.
http_auth_ok() {
  command -v curl >/dev/null 2>&1 || { port_open "$HTTP_PORT"; return; }
  local body code
  body="$(mktemp)"
  code="$(curl -s -o "$body" -w '%{http_code}' --max-time 5 \
    -u "neo4j:$PASSWORD" -H 'Content-Type: application/json' \
    -d '{"statements":[{"statement":"RETURN 1 AS ok"}]}' \
    "http://127.0.0.1:$HTTP_PORT/db/neo4j/tx/commit" 2>/dev/null)" || code=000
  local rc=1
  if [[ "$code" == 200 ]] && grep -q '"errors":\[\]' "$body"; then
    rc=0
  elif [[ "$code" == 401 || "$code" == 403 ]]; then
    rc=2
  fi
  rm -f "$body"
  return "$rc"
}

show_log_tail() {
  local f
  for f in "$SERVER_LOG" "$CONSOLE_LOG"; do
    if [[ -s "$f" ]]; then
      err "last lines of $f:"
      tail -n 40 "$f" >&2 || true
    fi
  done
}

write_conf() {
  mkdir -p "$CONF_DIR"
  cat >"$CONF_DIR/neo4j.conf" <<EOF
# Generated by docker/neo4j-local/neo4j-local.sh on every start; edits are lost.
server.directories.data=$DATA_DIR
server.directories.logs=$LOGS_DIR
server.directories.run=$RUN_DIR
server.directories.import=$IMPORT_DIR
server.directories.plugins=$PLUGINS_DIR

# Loopback only.
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:$BOLT_PORT
server.bolt.advertised_address=127.0.0.1:$BOLT_PORT
server.bolt.tls_level=DISABLED
server.http.enabled=true
server.http.listen_address=127.0.0.1:$HTTP_PORT
server.http.advertised_address=127.0.0.1:$HTTP_PORT
server.https.enabled=false
server.http_enabled_modules=TRANSACTIONAL_ENDPOINTS,UNMANAGED_EXTENSIONS,BROWSER,QUERY_API_ENDPOINTS

# Authentication on; the password of user neo4j is set before the first start.
dbms.security.auth_enabled=true

# Modest memory for a small (2-core) machine. The heap flags are passed to the
# JVM by the script (these two lines only document them).
server.memory.heap.initial_size=$HEAP_INITIAL
server.memory.heap.max_size=$HEAP_MAX
server.memory.pagecache.size=$PAGECACHE

# Small transaction logs: no 256 MiB preallocated file per database.
db.tx_log.preallocate=false
db.tx_log.rotation.size=64M
db.tx_log.rotation.retention_policy=256M size

# No network access from here: no usage reports.
dbms.usage_report.enabled=false

# Faster stop: Bolt otherwise waits 2 x 5 s for (already closed) connections.
internal.server.bolt.connection_shutdown_wait_time=1s
internal.server.bolt.thread_pool_shutdown_wait_time=1s
EOF
}

set_initial_password() {
  # Only possible before the system database exists (the first start).
  if [[ -d "$DATA_DIR/databases/system" ]]; then
    return 0
  fi
  ((${#PASSWORD} >= 8)) || die "GRAPHMEM_NEO4J_PASSWORD must have at least 8 characters"
  log "setting the initial password of user neo4j"
  local out
  if ! out="$(NEO4J_HOME="$HOME_DIR" NEO4J_CONF="$CONF_DIR" \
    "$JAVA" -Xmx256m -cp "$LIB_DIR/*" org.neo4j.cli.AdminTool \
    dbms set-initial-password "$PASSWORD" 2>&1)"; then
    err "neo4j-admin dbms set-initial-password failed:"
    printf '%s\n' "$out" >&2
    exit 1
  fi
}

wait_ready() {
  local pid="$1" start="$SECONDS" auth
  while ((SECONDS - start < START_TIMEOUT)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      err "the server process ($pid) exited during startup"
      show_log_tail
      exit 1
    fi
    if port_open "$BOLT_PORT"; then
      auth=0
      http_auth_ok || auth=$?
      if ((auth == 0)); then
        return 0
      elif ((auth == 2)); then
        err "the server runs, but rejected user neo4j with GRAPHMEM_NEO4J_PASSWORD."
        err "The password is set only on the first start; reset it with ALTER USER, or"
        err "stop and delete $DATA_DIR to start afresh. The server stays up (pid $pid)."
        exit 1
      fi
    fi
    sleep 1
  done
  err "the server did not become ready within ${START_TIMEOUT}s (pid $pid still runs;"
  err "run '$0 stop' to end it)"
  show_log_tail
  exit 1
}

with_lock() {
  # Serialise start/stop/fetch of the same state folder.
  mkdir -p "$NEO4J_DIR"
  if command -v flock >/dev/null 2>&1; then
    # The server is started with fd 9 closed, so that it does not hold the lock.
    exec 9>"$NEO4J_DIR/.lock"
    flock -w 300 9 || die "could not lock $NEO4J_DIR/.lock (another neo4j-local.sh runs?)"
  fi
  "$@"
}

cmd_start() {
  check_port_number GRAPHMEM_NEO4J_BOLT_PORT "$BOLT_PORT"
  check_port_number GRAPHMEM_NEO4J_HTTP_PORT "$HTTP_PORT"
  local pid
  if pid="$(running_pid)"; then
    if port_open "$BOLT_PORT"; then
      log "already running (pid $pid): bolt://127.0.0.1:$BOLT_PORT http://127.0.0.1:$HTTP_PORT/browser/"
      return 0
    fi
    log "process $pid exists but Bolt does not answer yet; waiting"
    wait_ready "$pid"
    log "ready (pid $pid)"
    return 0
  fi
  rm -f "$PID_FILE"

  command -v "$JAVA" >/dev/null 2>&1 || die "java not found; install Java 17+ or set JAVA_HOME"
  local port
  for port in "$BOLT_PORT" "$HTTP_PORT"; do
    if port_open "$port"; then
      die "port $port on 127.0.0.1 is already in use by another process"
    fi
  done

  cmd_fetch
  mkdir -p "$DATA_DIR" "$LOGS_DIR" "$RUN_DIR" "$IMPORT_DIR" "$PLUGINS_DIR"
  write_conf
  set_initial_password

  local -a jvm_opts=(
    "$MARKER"
    "-Xms$HEAP_INITIAL" "-Xmx$HEAP_MAX"
    -XX:+UseG1GC
    -XX:-OmitStackTraceInFastThrow
    -XX:+UnlockExperimentalVMOptions
    -XX:+TrustFinalNonStaticFields
    -XX:+DisableExplicitGC
    -XX:+ExitOnOutOfMemoryError
    -Djdk.nio.maxCachedBufferSize=1024
    -Dio.netty.tryReflectionSetAccessible=true
    -Djdk.tls.ephemeralDHKeySize=2048
    -Djdk.tls.rejectClientInitiatedRenegotiation=true
    -XX:+UnlockDiagnosticVMOptions
    -XX:+DebugNonSafepoints
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --enable-native-access=ALL-UNNAMED
    -Dlog4j2.disable.jmx=true
    -Dfile.encoding=UTF-8
  )
  local -a launcher=(nohup)
  if command -v setsid >/dev/null 2>&1; then
    launcher=(nohup setsid)
  fi

  log "starting Neo4j (logs: $LOGS_DIR)"
  {
    printf '==== %s: starting %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$MAIN_CLASS"
  } >>"$CONSOLE_LOG"
  (
    cd "$HOME_DIR"
    exec "${launcher[@]}" "$JAVA" "${jvm_opts[@]}" -cp "$LIB_DIR/*" "$MAIN_CLASS" \
      --home-dir="$HOME_DIR" --config-dir="$CONF_DIR"
  ) </dev/null >>"$CONSOLE_LOG" 2>&1 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"

  wait_ready "$pid"
  log "ready after $((SECONDS - SCRIPT_START))s (pid $pid)"
  log "  bolt://127.0.0.1:$BOLT_PORT  user neo4j"
  log "  http://127.0.0.1:$HTTP_PORT/browser/"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local start="$SECONDS"
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - start >= STOP_TIMEOUT)); then
      err "no exit after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  log "stopped after $((SECONDS - start))s"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    local bolt=no http=no
    port_open "$BOLT_PORT" && bolt=yes
    port_open "$HTTP_PORT" && http=yes
    log "running (pid $pid; bolt 127.0.0.1:$BOLT_PORT answering: $bolt; http 127.0.0.1:$HTTP_PORT answering: $http)"
    return 0
  fi
  log "not running"
  return 3
}

SCRIPT_START="$SECONDS"
case "${1:-}" in
  start) with_lock cmd_start ;;
  stop) with_lock cmd_stop ;;
  restart) with_lock cmd_stop && with_lock cmd_start ;;
  status) cmd_status ;;
  fetch) with_lock cmd_fetch ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
