-- Shared by create.lua and schedule_fire.lua (taskflow/store/scripts.py puts it
-- after the prelude): writes one new task. No run time, or one already due by the
-- server clock: PENDING at the tail of its queue's new-work list of its priority;
-- due later: SCHEDULED in tasks:scheduled (score = due ms) until promote.lua moves
-- it. `queue_name` is its named queue ('' or 'default': the original keys, and no
-- queue_name field in the hash, so an original client reads what it read).
-- Each task of one call gets its own microsecond, so index order is creation order.
local CREATE_SEQ
-- New PENDING ids per new-work list, pushed by push_created() (before finish) in
-- one LPUSH per list instead of one per task; within a list, in creation order.
local CREATED_LISTS
on_call(function() CREATE_SEQ, CREATED_LISTS = 0, {} end)
local function queue_created(q, id, priority)
  local level = tonumber(priority) or 0
  local list = level_list(q, level)
  local entry = CREATED_LISTS[list]
  if not entry then
    entry = { levels = q.levels, level = level, ids = {} }
    CREATED_LISTS[list] = entry
  end
  entry.ids[#entry.ids + 1] = id
  wake(q)
end
local function push_created()
  for list, entry in pairs(CREATED_LISTS) do
    for i = 1, #entry.ids, INDEX_CHUNK do
      redis.call('LPUSH', list, unpack(entry.ids, i, math.min(i + INDEX_CHUNK - 1, #entry.ids)))
    end
    if entry.level > 0 then redis.call('ZADD', entry.levels, entry.level, entry.level) end
  end
  CREATED_LISTS = {}
end
local function create_task(id, task_type, content, metadata, max_retries, priority, idem,
                           payload, run_ms, queue_name, idem_ttl, retention_s, events)
  if redis.call('EXISTS', task_key(id)) == 1 then fail_with('CONFLICT', 'task ' .. id .. ' exists') end
  local h = task_key(id)
  local created_us = us_string(CREATE_SEQ)
  CREATE_SEQ = CREATE_SEQ + 1
  local delayed = run_ms ~= nil and run_ms > NOW_MS
  local state = delayed and 'SCHEDULED' or 'PENDING'
  -- Only fields with a value: every reader takes an absent field as empty (or 0,
  -- or `[]`) as Task.from_hash and load_task do, so the empty timestamps, result,
  -- errors, lease, worker and defaults are left out (about half the fields and a
  -- third of the hash's bytes; docs/performance.md, issue 19: creating).
  -- `queue` = 'primary' marks a first run (promote.lua, _claim_due.lua).
  -- The first history entry is written as text: the state and the ISO time need no
  -- escaping, and cjson.encode of two new tables per task cost more.
  local fields = { 'HSET', h,
    'task_id', id, 'task_type', task_type, 'state', state, 'content', content,
    'metadata', metadata, 'retry_count', 0, 'max_retries', max_retries, 'priority', priority,
    'created_at', NOW_ISO, 'updated_at', NOW_ISO,
    'state_history', '[{"state":"' .. state .. '","timestamp":"' .. NOW_ISO .. '"}]',
    'created_us', created_us, 'queue', 'primary' }
  local function set(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
  if delayed then set('scheduled_at', NOW_ISO); set('run_at', iso_ms(run_ms)) end
  if idem ~= '' then set('idempotency_key', idem) end
  if payload ~= '' then set('has_payload', 1); set('payload_size', string.len(payload)) end
  if retention_s > 0 then set('retention_s', retention_s) end
  local q = queue_keys(queue_name)
  if q.name ~= DEFAULT_QUEUE then
    set('queue_name', q.name)
    if not q.known then redis.call('SADD', KNOWN_QUEUES, q.name); q.known = true end
  end
  redis.call(unpack(fields))
  if payload ~= '' then redis.call('SET', payload_key(id), payload) end
  if idem ~= '' then redis.call('SET', idempotency_key(idem), id, 'EX', idem_ttl) end
  local t = { id = id, task_type = task_type, created_us = created_us }
  add_to_indexes(t, state)
  index_add(INDEX_ALL, created_us, id)
  index_add(INDEX_IDS, 0, id)
  index_add(type_index(task_type), created_us, id)
  count(state, 1)
  series('created', 1)
  if delayed then
    schedule_task({ id = id, queue = 'primary', priority = priority,
      queue_name = q.name == DEFAULT_QUEUE and '' or q.name }, run_ms)
    events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type, state = state }
  else
    queue_created(q, id, priority)
    events[#events + 1] = { type = 'task_created', task_id = id, task_type = task_type }
  end
  return state
end
