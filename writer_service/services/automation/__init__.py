"""The automation stages 3 to 6 (ideas -> tasks -> content -> image prompts -> images), as runs.

`runner.Automation` starts runs and yields their events (`events`); `runs` holds the AutomationRun
rows; `ideas` is stage 3; `job_stages` and `stages` are stages 4 to 6, which hand their items to
generation jobs and follow them through the jobs' events.
"""
