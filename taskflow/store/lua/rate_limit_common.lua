-- Shared by rate_limit_acquire.lua and rate_limit_send.lua (prepended after the
-- prelude). A token is out from its grant until `interval` + margin after the
-- request it paid for was sent: granted tokens wait in the pending set (score: the
-- time they must be sent by), sent ones in the sends set (score: when they come
-- back). Counting sends rather than grants keeps the promise where it is made, at
-- the provider, however late a caller sends after its grant.

-- The limit of openrouter:rate_limit_config: capacity, interval ms (0, 0: none).
local function rate_limit(config)
  local cfg = redis.call('HMGET', config, 'requests', 'interval')
  local capacity = math.floor(tonumber(cfg[1]) or 0)
  local UNIT_MS = { [''] = 1000, ms = 1, s = 1000, m = 60000, min = 60000, h = 3600000 }
  local amount, unit = string.match(cfg[2] or '', '^%s*([%d%.]+)%s*(%a*)%s*$')
  local interval_ms = math.floor((tonumber(amount) or 0) * (UNIT_MS[unit] or 0))
  if capacity <= 0 or interval_ms <= 0 then return 0, 0 end
  return capacity, interval_ms
end

-- Tokens whose send deadline passed unconfirmed (a caller that died, or one whose
-- confirmation is late) count as sent at that deadline, the latest a caller may
-- send; tokens back from the window are dropped.
local function settle(pending, sends, window_ms)
  local late = redis.call('ZRANGEBYSCORE', pending, '-inf', NOW_MS, 'WITHSCORES')
  for i = 1, #late, 2 do
    redis.call('ZADD', sends, 'GT', tonumber(late[i + 1]) + window_ms, late[i])
  end
  if #late > 0 then redis.call('ZREMRANGEBYSCORE', pending, '-inf', NOW_MS) end
  redis.call('ZREMRANGEBYSCORE', sends, '-inf', NOW_MS)
end

local function keep_for(ms, ...)
  for _, k in ipairs({ ... }) do redis.call('PEXPIRE', k, ms) end
end
