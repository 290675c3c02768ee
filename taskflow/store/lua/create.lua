-- create: add one or more tasks (each written by create_task, lua/_create_task.lua).
-- A task with no run time, or one already due by the server clock, is PENDING at
-- the tail of its queue's new-work list of its priority (default queue:
-- tasks:pending:primary, tasks:pending:primary:p{1..9}; queue q:
-- queues:q:pending:primary[:p{p}]); one due later is SCHEDULED in tasks:scheduled
-- (score = due ms) until promote.lua moves it (docs/state-machine.md).
-- KEYS[1]  tasks:pending:primary (routes the call in Redis Cluster)
-- ARGV[1]  key prefix
-- ARGV[2]  idempotency key TTL in seconds
-- ARGV[3]  the tasks as one JSON list, a list of ten strings per task: task_id,
--          task_type, content, metadata (JSON), max_retries, priority,
--          idempotency_key ('' = none), run time in unix ms ('' = at once), queue
--          name ('' = default), retention in seconds ('0' = forever). One argument
--          for the whole batch: the client encodes it in C (json) instead of
--          packing ten protocol arguments per task in Python.
-- ARGV[4..] the payloads, in task order, of the tasks whose row has an 11th
--          element '1' (a task without one has no payload).
-- Returns  a flat list: task_id, created (1, or 0 when the idempotency key already
--          named a task, whose id is returned instead), state
local idem_ttl = tonumber(ARGV[2])
local out, events = {}, {}
local next_payload = 4
for _, row in ipairs(cjson.decode(ARGV[3])) do
  local id, task_type, content, metadata = row[1], row[2], row[3], row[4]
  local max_retries, priority, idem = row[5], row[6], row[7]
  local run_ms = tonumber(row[8])
  local queue_name = row[9]
  local retention_s = tonumber(row[10]) or 0
  local payload = ''
  if row[11] then
    payload = ARGV[next_payload]
    next_payload = next_payload + 1
  end
  local existing = idem ~= '' and redis.call('GET', idempotency_key(idem))
  if existing and redis.call('EXISTS', task_key(existing)) == 1 then
    out[#out + 1] = existing
    out[#out + 1] = 0
    out[#out + 1] = redis.call('HGET', task_key(existing), 'state')
  else
    local state = create_task(id, task_type, content, metadata, max_retries, priority, idem,
      payload, run_ms, queue_name, idem_ttl, retention_s, events)
    out[#out + 1] = id
    out[#out + 1] = 1
    out[#out + 1] = state
  end
end
push_created()
finish(events)
return out
