"""tuntcp-lab: TIME_WAIT experiments against the Linux kernel, one network
namespace each, with a verdict, the captures, the traces and a plot.

Modules: cli (the command line and the runner), netns (entering the
namespace), apps (launching echo-server/echo-client), peers (Linux sockets),
capture (reading traces and pcaps), context (what an experiment gets:
Context, writing verdict.json and README.txt), plot (matplotlib, optional),
experiments/<name>.py (one experiment each). lab/README.md documents the API.
"""
