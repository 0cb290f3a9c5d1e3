#!/usr/bin/env bash
# Starts a private Redmine 5.0 (Debian bookworm packages, SQLite, WEBrick) on 127.0.0.1 for integration tests.
#
#   REDMINE_PORT=4567 REDMINE_STATE_DIR=/tmp/x start-redmine.sh               install if missing, configure, start
#   REDMINE_PORT=4567 REDMINE_STATE_DIR=/tmp/x start-redmine.sh --start-only  start again (same state dir, after a full run)
#   REDMINE_PORT=4567 REDMINE_STATE_DIR=/tmp/x start-redmine.sh --install-only  only install the packages (for tests
#                                                                              that use Redmine's formatters, no server)
#
# Must run as root (apt-get, setpriv). REDMINE_STATE_DIR must be an absolute path that www-data can reach
# (not under a mode-700 home directory). Idempotent: the install and configuration steps are skipped or
# harmless when already done, and a server this state dir already runs on this port is reused.
#
# Output: $REDMINE_STATE_DIR/env (shell-sourceable) with REDMINE_URL, REDMINE_PID, REDMINE_API_KEY,
# REDMINE_CF_FINGERPRINT_ID, REDMINE_PROJECT_ID, REDMINE_PROJECT_IDENTIFIER, REDMINE_TRACKER_ID,
# REDMINE_OPEN_STATUS_ID, REDMINE_CLOSED_STATUS_ID, REDMINE_OTHER_PROJECT_ID and REDMINE_TIME_* (seconds per step).
# Stop by PID: kill "$(cat "$REDMINE_STATE_DIR/redmine.pid")". Several servers (one per state dir and port) may run
# at once; they share the one SQLite database.
set -euo pipefail

PORT="${REDMINE_PORT:?port to listen on (127.0.0.1)}"
STATE_DIR="${REDMINE_STATE_DIR:?absolute directory reachable by www-data}"
PROJECT="${REDMINE_PROJECT_IDENTIFIER:-errors}"
MODE="${1:-full}"
RM=/usr/share/redmine
DBYML=/etc/redmine/default/database.yml
APT=(apt-get -o DPkg::Lock::Timeout=300)

case "$STATE_DIR" in /*) ;; *) echo "REDMINE_STATE_DIR must be absolute: $STATE_DIR" >&2; exit 2 ;; esac
case "$PORT" in *[!0-9]*|'') echo "REDMINE_PORT must be a number: $PORT" >&2; exit 2 ;; esac
case "$PROJECT" in *[!a-z0-9_-]*|'') echo "bad REDMINE_PROJECT_IDENTIFIER: $PROJECT" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "start-redmine.sh must run as root (apt-get, setpriv to www-data)" >&2; exit 2; }

mkdir -p "$STATE_DIR"; chmod 755 "$STATE_DIR"
phase() { echo "$1" > "$STATE_DIR/phase"; echo "== $1 ($(date +%T))"; }
T0=$EPOCHREALTIME
lap() { # lap NAME: record seconds since the previous lap
  local now=$EPOCHREALTIME
  echo "REDMINE_TIME_$1=$(awk -v a="$T0" -v b="$now" 'BEGIN { printf "%.2f", b - a }')" >> "$STATE_DIR/timings"
  T0=$now
}
: > "$STATE_DIR/timings"
as_www() { setpriv --reuid=www-data --regid=www-data --init-groups env HOME="$STATE_DIR" REDMINE_INSTANCE=default RAILS_ENV=production "$@"; }
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$PORT/" || true; }

PID=""; STARTED=""
# Reuses the server an earlier run of this state dir left on this port, else launches one (without waiting).
launch_server() {
  if [ -s "$STATE_DIR/redmine.pid" ]; then
    local old; old=$(cat "$STATE_DIR/redmine.pid")
    if kill -0 "$old" 2>/dev/null && tr '\0' ' ' < "/proc/$old/cmdline" | grep -q -- "rackup .*-p $PORT\b" \
       && [ "$(http_code)" = 200 ]; then
      PID=$old; echo "reusing server $PID on port $PORT"; return
    fi
  fi
  [ "$(http_code)" = 000 ] || { echo "something else already answers on 127.0.0.1:$PORT" >&2; exit 1; }
  # setpriv execs straight into rackup, so $! is the server's own PID (runuser would leave a wrapper in between).
  (cd "$RM" && exec setpriv --reuid=www-data --regid=www-data --init-groups \
    env HOME="$STATE_DIR" REDMINE_INSTANCE=default RAILS_ENV=production \
    rackup -E production -o 127.0.0.1 -p "$PORT" >> "$STATE_DIR/server.log" 2>&1 < /dev/null) &
  PID=$!; STARTED=$PID
  echo "$PID" > "$STATE_DIR/redmine.pid"
}
wait_server() {
  for _ in $(seq 1 480); do
    [ "$(http_code)" = 200 ] && break
    kill -0 "$PID" 2>/dev/null || { echo "server exited:"; tail -n 40 "$STATE_DIR/server.log"; exit 1; }
    sleep 0.25
  done
  [ "$(http_code)" = 200 ] || { echo "no HTTP 200 after 120 s:"; tail -n 40 "$STATE_DIR/server.log"; exit 1; }
  kill -0 "$PID" 2>/dev/null || { echo "server $PID died after answering"; exit 1; }
}
# A server this run launched must not outlive a failed run.
trap '[ -n "$STARTED" ] && [ "$(cat "$STATE_DIR/phase" 2>/dev/null)" != ready ] && kill "$STARTED" 2>/dev/null; true' EXIT

# bookworm-security's ruby3.1 (3.1.7) breaks the redmine package's postinst: `bundle install --local` cannot find
# gems that Debian ships for 3.1.2. The release's Ruby is still offered beside it, so the install asks for that one,
# whatever its exact version; where only one Ruby is offered, the plain install is tried.
ruby_pin() {
  local versions oldest
  versions=$(apt-cache madison ruby3.1 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -uV)
  [ "$(printf '%s\n' "$versions" | grep -c .)" -gt 1 ] || return 0
  oldest=$(printf '%s\n' "$versions" | head -n 1)
  apt-cache madison libruby3.1 2>/dev/null | grep -qF "| $oldest |" || return 0
  echo "ruby3.1=$oldest libruby3.1=$oldest --allow-downgrades"
}
# Brings a half-configured redmine (left by the postinst failure above, on this or an earlier run) to a working state.
recover_redmine() {
  echo "redmine is not fully configured; installing the release's Ruby and configuring it again" >&2
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a || true
  # shellcheck disable=SC2046
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends $(ruby_pin) redmine redmine-sqlite curl
  DEBIAN_FRONTEND=noninteractive dpkg --configure -a
}

if [ "$MODE" = full ] || [ "$MODE" = --install-only ]; then
  # ---- install (skipped when present) -------------------------------------------------------------
  phase install
  if ! dpkg-query -W -f='${Status}\n' redmine redmine-sqlite 2>/dev/null | grep -c 'ok installed' | grep -qx 2; then
    # The preseed only makes the noninteractive defaults explicit. After an earlier purge debconf rejects some lines
    # ("Cannot find a question for ..."); the defaults (sqlite3, create the DB, English data) then apply anyway.
    debconf-set-selections <<'EOF' || echo "warning: debconf preseed partly rejected; relying on the defaults"
redmine redmine/current-instances string default
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/default-language select en
EOF
    "${APT[@]}" update -qq
    # shellcheck disable=SC2046 # the pin is zero or three words
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends $(ruby_pin) redmine redmine-sqlite curl \
      || recover_redmine
    # a package a killed or failed run left unpacked but unconfigured
    dpkg-query -W -f='${Status}\n' redmine redmine-sqlite | grep -qv 'ok installed' && recover_redmine
  fi
  command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends curl
  lap INSTALL
  [ "$MODE" = --install-only ] && { phase installed; exit 0; }

  # ---- configure ----------------------------------------------------------------------------------
  phase configure
  # rackup needs a handler; ruby-webrick is installed but not in Debian's Gemfile.lock, so bundler hides it.
  if ! grep -qs "^gem 'webrick'" "$RM/Gemfile.local"; then
    echo "gem 'webrick'" >> "$RM/Gemfile.local"
    (cd "$RM" && bundle install --local --quiet)
    chown www-data:www-data /var/lib/redmine/Gemfile.lock 2>/dev/null || true
  fi
  # Debian's database.yml has no busy timeout: parallel writes then fail with SQLite3::BusyException (HTTP 500).
  grep -q '^ *timeout:' "$DBYML" || sed -i '/adapter: sqlite3/a\  timeout: 10000' "$DBYML"

  cat > "$STATE_DIR/setup.rb" <<'EOF'
identifier = ENV.fetch('REDMINE_PROJECT_IDENTIFIER')
# Trackers, statuses, priorities, roles and workflows: without them no issue can be created or closed.
if Tracker.none? || IssueStatus.none? || IssuePriority.none?
  raise 'partial Redmine default data; load it by hand' unless Redmine::DefaultData::Loader.no_data?
  Redmine::DefaultData::Loader.load('en') # what `rake redmine:load_default_data REDMINE_LANG=en` does
  puts 'REDMINE_LOADED_DEFAULT_DATA=1'
end
Setting.rest_api_enabled = '1'
Setting.notified_events = [] # no SMTP here: every issue change would queue a MailDeliveryJob
admin = User.find_by!(login: 'admin')
admin.update_columns(must_change_passwd: false)
trackers = Tracker.sorted.to_a
cf = IssueCustomField.find_by(name: 'Fingerprint') ||
     IssueCustomField.create!(name: 'Fingerprint', field_format: 'string', is_filter: true, searchable: true,
                              is_for_all: true, visible: true)
cf.update!(tracker_ids: trackers.map(&:id)) unless (trackers.map(&:id) - cf.tracker_ids).empty?
modules = Redmine::AccessControl.available_project_modules.map(&:to_s)
ensure_project = lambda do |ident, name|
  p = Project.find_by(identifier: ident) ||
      Project.create!(name: name, identifier: ident, is_public: true, tracker_ids: trackers.map(&:id),
                      enabled_module_names: modules)
  p.update!(status: Project::STATUS_ACTIVE, is_public: true) unless p.active? && p.is_public?
  p.update!(tracker_ids: (p.tracker_ids | trackers.map(&:id))) unless (trackers.map(&:id) - p.tracker_ids).empty?
  p.update!(enabled_module_names: (p.enabled_module_names | modules)) unless (modules - p.enabled_module_names).empty?
  p
end
project = ensure_project.call(identifier, identifier.capitalize)
other = ensure_project.call("#{identifier}-cf", "#{identifier.capitalize} (second project)")
tracker = project.trackers.sorted.first
open_status = tracker.default_status || IssueStatus.where(is_closed: false).sorted.first
closed_status = IssueStatus.where(is_closed: true).sorted.first or raise 'no closed IssueStatus'
puts "REDMINE_API_KEY=#{admin.api_key}"
puts "REDMINE_CF_FINGERPRINT_ID=#{cf.id}"
puts "REDMINE_PROJECT_ID=#{project.id}"
puts "REDMINE_PROJECT_IDENTIFIER=#{project.identifier}"
puts "REDMINE_OTHER_PROJECT_ID=#{other.id}"
puts "REDMINE_TRACKER_ID=#{tracker.id}"
puts "REDMINE_OPEN_STATUS_ID=#{open_status.id}"
puts "REDMINE_CLOSED_STATUS_ID=#{closed_status.id}"
EOF
  chmod 644 "$STATE_DIR/setup.rb"
  # The server boots (~4 s) while rails runner configures (~5 s): both are mostly Rails start-up. The server
  # re-reads changed settings (REST API on) per request, and nothing is asked of it before both are done.
  launch_server
  (cd "$RM" && as_www env REDMINE_PROJECT_IDENTIFIER="$PROJECT" bin/rails runner -e production "$STATE_DIR/setup.rb") > "$STATE_DIR/setup.out"
  grep -E '^REDMINE_[A-Z_]+=[A-Za-z0-9_.-]*$' "$STATE_DIR/setup.out" > "$STATE_DIR/env.static"
  for k in API_KEY CF_FINGERPRINT_ID PROJECT_ID TRACKER_ID OPEN_STATUS_ID CLOSED_STATUS_ID; do
    grep -q "^REDMINE_$k=." "$STATE_DIR/env.static" || { echo "setup did not report REDMINE_$k:"; cat "$STATE_DIR/setup.out"; exit 1; }
  done
  lap CONFIGURE
else
  [ -s "$STATE_DIR/env.static" ] || { echo "--start-only needs a previous full run in $STATE_DIR" >&2; exit 2; }
fi

# ---- start ------------------------------------------------------------------------------------------
phase start
[ -n "$PID" ] || launch_server
wait_server
lap START

{
  echo "REDMINE_URL=http://127.0.0.1:$PORT"
  echo "REDMINE_PID=$PID"
  cat "$STATE_DIR/env.static" "$STATE_DIR/timings"
} > "$STATE_DIR/env.new"
mv "$STATE_DIR/env.new" "$STATE_DIR/env"
phase ready
cat "$STATE_DIR/env"
