"""Redis limiter: the algorithm of ``base``, one atomic Lua script per decision.

Keys: ``<prefix>:r:<key>`` (sorted set: the request log, scored by ms) and ``<prefix>:t:<key>``
(hash: second → tokens). Time comes from the Redis server (``TIME``), so instances with skewed
clocks still share one window. Both keys expire after a window of inactivity.
"""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from patchbay.limits.base import WINDOW_S, Decision

ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local rpm, tpm, tokens = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local used, oldest_sec, newest_sec = 0, -1, -1
if tpm > 0 then
  local horizon = math.floor((now - window) / 1000)
  local fields = redis.call('HGETALL', KEYS[2])
  for i = 1, #fields, 2 do
    local sec = tonumber(fields[i])
    if sec <= horizon then
      redis.call('HDEL', KEYS[2], fields[i])
    else
      used = used + tonumber(fields[i + 1])
      if oldest_sec < 0 or sec < oldest_sec then oldest_sec = sec end
      if sec > newest_sec then newest_sec = sec end
    end
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local first_ms = first[2] and tonumber(first[2]) or now
local last_ms = last[2] and tonumber(last[2]) or now
local refuse_req = count >= rpm
local refuse_tok = tpm > 0 and used + tokens > tpm
if refuse_req or refuse_tok then
  local retry = 0
  if refuse_req then retry = first_ms + window - now end
  if refuse_tok and oldest_sec >= 0 then
    retry = math.max(retry, (oldest_sec + 1) * 1000 + window - now)
  end
  return {0, count, used, retry, last_ms + window - now, (newest_sec + 1) * 1000 + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], window)
if tpm > 0 then
  redis.call('HINCRBY', KEYS[2], tostring(math.floor(now / 1000)), tokens)
  redis.call('PEXPIRE', KEYS[2], window + 1000)
end
return {1, count + 1, used + tokens, 0, window, window}
"""

ADJUST = """
local t = redis.call('TIME')
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], t[1], tonumber(ARGV[1]))
end
return 1
"""


class RedisLimiter:
    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "patchbay:rl", window_s: float = WINDOW_S
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.window_ms = int(window_s * 1000)
        self._acquire = client.register_script(ACQUIRE)
        self._adjust = client.register_script(ADJUST)

    async def acquire(self, key: str, *, rpm: int, tpm: int | None, tokens: int) -> Decision:
        keys = [f"{self.prefix}:r:{key}", f"{self.prefix}:t:{key}"]
        member = uuid.uuid4().hex
        ok, count, used, retry_ms, req_reset_ms, tok_reset_ms = await self._acquire(
            keys=keys, args=[self.window_ms, rpm, tpm or 0, tokens, member]
        )
        return Decision(
            allowed=bool(ok),
            limit_requests=rpm,
            remaining_requests=rpm - int(count),
            reset_requests_s=max(0, int(req_reset_ms)) / 1000,
            limit_tokens=tpm,
            remaining_tokens=(tpm - int(used)) if tpm else None,
            reset_tokens_s=max(0, int(tok_reset_ms)) / 1000 if tpm else None,
            retry_after_s=max(1, int(retry_ms)) / 1000 if not ok else 0.0,
        )

    async def adjust_tokens(self, key: str, *, delta: int) -> None:
        if delta:
            await self._adjust(keys=[f"{self.prefix}:t:{key}"], args=[delta])

    async def aclose(self) -> None:
        await self.client.aclose()
