-- limits_read: every declared limit and its use now, for ListLimits. Settles the
-- rate buckets and drops slot members whose lease is gone, as a claim would.
-- KEYS[1]  limits:types
-- ARGV[1]  key prefix
-- Returns  a JSON list, one object per type: its limits (as declared) plus
--          tokens (free now), slots ({value, used}), held_back (tasks held by a
--          limit and not yet due again), held_rate and held_concurrency (totals)
local out = {}
local declared = redis.call('HGETALL', LIMIT_TYPES)
for i = 1, #declared, 2 do
  local task_type, cfg = declared[i], cjson.decode(declared[i + 1])
  local row = { task_type = task_type, limits = cfg, slots = {}, tokens = 0 }
  if (cfg.capacity or 0) > 0 then row.tokens = math.max(0, rate_settle(task_type, cfg)) end
  if (cfg.concurrency or 0) > 0 then
    local values = limit_key('slot_values', task_type)
    for _, value in ipairs(redis.call('SMEMBERS', values)) do
      local slots = slots_key(task_type, value)
      local used = 0
      for _, id in ipairs(redis.call('ZRANGE', slots, 0, -1)) do
        if redis.call('HGET', task_key(id), 'state') == 'ACTIVE' then used = used + 1
        else redis.call('ZREM', slots, id) end
      end
      if used == 0 then redis.call('SREM', values, value)
      else row.slots[#row.slots + 1] = { value = value, used = used } end
    end
  end
  local held = limit_key('held', task_type)
  redis.call('ZREMRANGEBYSCORE', held, '-inf', NOW_MS - HELD_KEEP_MS)
  row.held_back = redis.call('ZCOUNT', held, '(' .. NOW_MS, '+inf')
  local stats = redis.call('HMGET', limit_key('stats', task_type), 'held_rate', 'held_concurrency')
  row.held_rate = tonumber(stats[1]) or 0
  row.held_concurrency = tonumber(stats[2]) or 0
  out[#out + 1] = row
end
if #out == 0 then return '[]' end
return cjson.encode(out)
