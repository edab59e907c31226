"""Alerts that reach people: faults pushed to webhooks, 企业微信 and 钉钉 robots and e-mail.

events (what an alert says), policy (dedupe, hysteresis, rate, backoff; pure), outbox (the
queue in the station database), formats (each vendor's message; pure), transport (one
attempt, blocking), worker (the notifier's threads), notifier (queue, route, send lanes),
sources (device health, relay results, as-run outcomes), summary (the daily summary),
service (the notifier as the engine runs it), trial (the test button's send).
"""
