"""`candor audit`: run any CLI in a sandbox and check its telemetry promises from the outside.

Modules, one job each:

    sandbox.py   the namespaces (network with only loopback, mount, UTS, PID; a user namespace
                 when not root) and what needs root; set up from inside by `prepare()`
    endpoint.py  the recording listeners: capture endpoint (HTTP, accept or hang) and DNS recorder
    trace.py     network system calls seen by strace (-f, seccomp-bpf), parsed into attempts
    runner.py    one run of the program: environment, stdin probe, timeout, HOME changes
    processes.py the PID namespace's processes: what is left after a run, waiting, killing
    canaries.py  the planted values and the search for them in requests, raw or decoded
    payload.py   request bodies decoded into events; the JSON Schema check
    checks.py    the eight checks: runs → PASS / FAIL with evidence / SKIP with why
    inside.py    the audit proper, as PID 1 of the namespaces: every run, then the report
    report.py    verdicts and their text, --json and --markdown forms
    options.py   the options and Candor's conventions as their defaults

`candor.cli.audit` is the command; it never imports the client: the audit judges a program
from outside, whatever its language, exactly as it would judge one that is not Candor's.
"""
