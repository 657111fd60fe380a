"""The web console at ``/ui``: server-rendered pages for users (balance, usage charts and
history, keys, bots, the model catalog, redeeming a code) and admins (accounts, the catalog
and its routes, usage across accounts, redemption codes).

Why server-rendered: every page is a Jinja2 template filled from the same layers the admin
API calls (``accounts/``, ``catalog/``, ``metering/``), so the console needs no API of its own
and no build step; the only script is ``static/console.js`` (a few dozen lines: draws the
charts) beside uPlot (``static/uplot.iife.min.js``, MIT, 50 KB), both shipped in the package.
Forms are plain HTML forms, so the pages work without JavaScript except the charts.

Security: a server-side session (``sessions``: a random token in an HttpOnly, SameSite=Strict
cookie, its hash in ``console_sessions``), a CSRF token in every form, a strict
Content-Security-Policy (scripts and styles from ``/ui/static`` only, nothing inline), and
sign-in attempts rate limited per client address (``throttle``).
"""
