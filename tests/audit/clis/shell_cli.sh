#!/bin/sh
# `shell-cli`: a tiny CLI with telemetry in POSIX sh and curl, keeping the policy's promises.
# The test that copies it names its platform (@PLATFORM@: config dir, @PREFIX@_: variables) and
# sets BREAK to break exactly one promise (empty: none broken):
#   extra-field       the event carries a tenth field
#   argument          the event's command carries the arguments
#   notice-stdout     the first-run notice goes to stdout
#   ask               the first run asks for consent and reads the answer from stdin
#   ignore-opt-out    YOUR_PLATFORM_TELEMETRY_OPT_OUT is ignored
#   dns-opted-out     an opted-out run looks up a host name (an "update check")
#   remote-opted-out  an opted-out run connects to a remote address (TEST-NET-2, never routed)
#   hang              the event is posted in the foreground, without a timeout
#   noisy             the event is posted in the foreground; a failure is printed on stderr
#   ignore-disable    `telemetry disable` is saved but not obeyed
#   random-id         each event carries a new installation_id
#   plain-http        plain http:// is used to any address, not only to loopback
#   ignore-dnt        DO_NOT_TRACK is ignored (a recommendation, unless the policy claims it)
BREAK="@BREAK@"
dir="$HOME/.@PLATFORM@"
config="$dir/config.json"
endpoint="${@PREFIX@_TELEMETRY_ENDPOINT:-https://telemetry.your-platform.com/v1/event}"

opted_out() {
    if [ "$BREAK" != ignore-opt-out ]; then
        case "$(printf %s "${@PREFIX@_TELEMETRY_OPT_OUT:-}" | tr A-Z a-z)" in
            1 | true | yes) return 0 ;;
        esac
    fi
    [ "$BREAK" = ignore-dnt ] && return 1
    case "$(printf %s "${DO_NOT_TRACK:-}" | tr A-Z a-z)" in
        "" | 0 | false) return 1 ;;
    esac
    return 0
}

saved_id() { sed -n 's/.*"installation_id": *"\([^"]*\)".*/\1/p' "$config" 2>/dev/null; }

save_config() { # installation_id enabled
    mkdir -p "$dir"
    printf '{"installation_id": "%s", "enabled": %s}\n' "$1" "$2" >"$config.tmp"
    mv "$config.tmp" "$config"
}

notice() {
    echo "shell-cli collects anonymous usage telemetry (9 fields, never arguments or paths)."
    echo "Turn it off: shell-cli telemetry disable, or @PREFIX@_TELEMETRY_OPT_OUT=1."
}

record() { # command status
    if opted_out; then
        [ "$BREAK" = dns-opted-out ] && getent hosts updates.your-platform.com >/dev/null
        [ "$BREAK" = remote-opted-out ] && curl -s -m 2 -o /dev/null http://198.51.100.7/ping
        return 0
    fi
    if [ ! -f "$config" ]; then
        save_config "$(cat /proc/sys/kernel/random/uuid)" true
        if [ "$BREAK" = notice-stdout ]; then notice; else notice >&2; fi
        if [ "$BREAK" = ask ]; then printf 'Send anonymous usage data? [Y/n] ' >&2 && read -r _; fi
        return 0 # the notice run sends nothing
    fi
    [ "$BREAK" != ignore-disable ] && grep -q '"enabled": false' "$config" && return 0
    case "$endpoint" in
        https://* | http://127.* | http://localhost:* | http://localhost/*) ;;
        *) [ "$BREAK" = plain-http ] || return 0 ;; # plain http:// only to loopback
    esac
    id=$(saved_id)
    [ "$BREAK" = random-id ] && id=$(cat /proc/sys/kernel/random/uuid)
    command=$1
    [ "$BREAK" = argument ] && command="$ARGS"
    extra=""
    [ "$BREAK" = extra-field ] && extra=',"shell":"sh"'
    code=null
    [ "$2" = failure ] && code='"usage_error"'
    event=$(printf '{"event_version":"1.0","installation_id":"%s","cli_version":"0.1.0","command":"%s","os_arch":"linux-x86_64","duration_ms":3,"status":"%s","error_code":%s,"is_interactive":false%s}' \
        "$id" "$command" "$2" "$code" "$extra")
    if [ "$BREAK" = hang ]; then
        curl -s -o /dev/null -H 'Content-Type: application/json' --data "$event" "$endpoint" || true
    elif [ "$BREAK" = noisy ]; then
        curl -sf -m 1 -o /dev/null -H 'Content-Type: application/json' --data "$event" \
            "$endpoint" || echo "shell-cli: could not send telemetry to $endpoint" >&2
    else
        curl -s -m 5 -o /dev/null -H 'Content-Type: application/json' --data "$event" "$endpoint" \
            </dev/null >/dev/null 2>&1 &
    fi
}

ARGS="$*"
case "$1" in
    init)
        echo "Created shell-cli.toml"
        record init success
        ;;
    telemetry)
        id=$(saved_id)
        [ -n "$id" ] || id=$(cat /proc/sys/kernel/random/uuid)
        case "$2" in
            disable) save_config "$id" false && echo "Telemetry disabled." ;;
            enable) save_config "$id" true && echo "Telemetry enabled." ;;
            *) echo "usage: shell-cli telemetry enable|disable" >&2 && exit 2 ;;
        esac
        ;;
    *)
        echo "usage: shell-cli init" >&2
        record usage failure
        exit 2
        ;;
esac
