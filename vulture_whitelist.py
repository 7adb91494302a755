"""What vulture (pyproject.toml, tool.vulture) reports as unused but is used, each with why.

Never imported or run: vulture reads it as source, and a name written here counts as used.
"""

# Each line names what is used, as a bare expression (B018), some through a name defined
# nowhere (F821): `_.x` for an attribute of any object, a bare name for a parameter.
# ruff: noqa: B018, F821

from bot import charts, demo, scheduler
from bot.app import BodyMatcher, ServicesAndRetries
from bot.platforms import breaker, http, transport
from bot.platforms.astakos import models as astakos
from bot.platforms.dss import models as dss
from bot.platforms.limits import models as limits
from bot.platforms.mstr import models as mstr
from bot.platforms.squonk import models as squonk
from bot.store import watches

# -- called by the libraries the classes plug into --------------------------------------------
BodyMatcher.async_matches  # slack_bolt's AsyncListenerMatcher interface
ServicesAndRetries.async_process  # slack_bolt's AsyncMiddleware interface
resp  # a parameter of both interfaces above, named as Bolt passes it
transport.AiohttpTransport.handle_async_request  # httpx's AsyncBaseTransport interface
http._NoCookies.set_cookie  # http.cookiejar.CookieJar's interface, which httpx calls
http._NoCookies.extract_cookies  # the same
cookie  # set_cookie's parameter, named as CookieJar's
# Attributes set on other libraries' objects, which read them:
_.event_hooks  # httpx.AsyncClient's response hooks (bot.platforms.dss.client: the DSS version)
_.retry_handlers  # slack_sdk's AsyncWebClient (services, watch, digest delivery)
_.raw_body  # bot.web.ParsedBoltRequest: the fields Bolt reads off its request
_.lazy_only  # the same
_.lazy_function_name  # the same

# -- named in "module:attribute" strings, imported when first needed ---------------------------
_.register_all  # handlers.register_all: bot.app.LISTENERS names it, resolved when an app is built
_.all_families  # handlers.all_families: bot.app.FAMILIES
ALERTS  # bot.digests.<p>.ALERTS: a platform descriptor's `alerts` (bot/platforms/<p>/__init__.py)
SEED  # bot.platforms.<p>.demo.SEED: its `demo`
UNFURL  # bot.platforms.<p>.unfurl.UNFURL: its `unfurl`
ALERT_FILTERS  # bot.digests.<p>.ALERT_FILTERS: its `alert_filters`

# -- what tests and benchmarks read to see the bot's state ------------------------------------
charts.ChartCache.draws  # tests/bot/test_charts.py, bench/_charts.py: charts really drawn
charts.ChartCache.hits  # tests/bot/test_charts.py: answers from the cache
breaker.CircuitBreaker.opened_count  # tests/faults/test_breaker.py
scheduler.Scheduler.scheduled  # e2e digest tests: is a subscription on a job
watches.count_live  # tests/bot/test_recovery_store.py
demo.DemoPlatforms.emulators  # the demo's world, which tests and benchmarks drive
limits.TaskOutcome.status_before  # tests/platforms/limits/test_client_actions.py

# -- pydantic model fields: part of the platform answer's validated shape ----------------------
# Not shown anywhere yet, but a malformed value is refused like in any other field (an
# unexpected answer), so removing one would change what the bot accepts.
astakos.Quota.project_pending
astakos.Project.deactivation_date
dss.AuthInfo.user_for_impersonation
dss.AuthInfo.via
dss.Job.end_time
dss.Scenario.tags
dss.ScenarioRun.trigger_type
dss.TriggerFire.cancelled
dss.NotebookSession.notebook_name
dss.NotebookSession.kernel_id
dss.NotebookSession.kernel_pid
dss.NotebookSession.unix_owner
dss.NotebookSession.connections
dss.Notebook.tags
limits.LimitWire.source_limit_id
limits.StructureWire.polling_frequency
limits.HistoryWire.workflow_id
mstr.ErrorBody.ticket_id
mstr.ErrorBody.iserver_code
mstr.ServerStatusBody.is_iserver_configured
mstr.SessionBody.working_set
mstr.SessionBody.max_search
squonk.Instance.job_name
squonk.Instance.coins
squonk.TaskEvent.ordinal
squonk.Task.image
