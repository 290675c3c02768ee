-- Prelude of every script (taskflow/store/scripts.py): loaded once as the top of
-- the function library (FUNCTION LOAD), or prepended to each script sent by EVALSHA
-- to a server without functions. Its functions are built once per load; everything
-- that differs per call (the prefix and the key names made from it, the clock, the
-- accumulators finish() writes) is declared here without a value and set by
-- begin_call() at the start of every call (end of this file): a new key name of the
-- prefix goes there (or in a function of PREFIX such as task_key), never as a
-- top-level value, which would be computed once at load (and fails there: PREFIX
-- is nil at load).
-- ARGV[1] of every script is the key prefix (may hold a Redis Cluster hash tag, so
-- every key below lives in one slot). Key names here mirror taskflow/store/keys.py.
-- Time always comes from the Redis server clock, never from a client.

local PREFIX

local function key(name) return PREFIX .. name end
local function task_key(id) return PREFIX .. 'task:' .. id end
local function dlq_task_key(id) return PREFIX .. 'dlq:task:' .. id end
local function payload_key(id) return PREFIX .. 'task:' .. id .. ':payload' end
local function logs_key(id) return PREFIX .. 'task:' .. id .. ':logs' end
local function counter_key(state) return PREFIX .. 'metrics:tasks:state:' .. string.lower(state) end
local function state_index(state) return PREFIX .. 'tasks:index:state:' .. state end
local function type_index(task_type) return PREFIX .. 'tasks:index:type:' .. task_type end
local function state_type_index(state, task_type)
  return PREFIX .. 'tasks:index:state_type:' .. state .. ':' .. task_type
end
local function active_tasks_key(worker) return PREFIX .. 'worker:active_tasks:' .. worker end
local function worker_stats_key(worker) return PREFIX .. 'worker:stats:' .. worker end
local function idempotency_key(k) return PREFIX .. 'idempotency:' .. k end
local function schedule_key(id) return PREFIX .. 'schedule:' .. id end

-- The default queue's lists (the original keys); other queues: queue_keys() below.
-- Key names of the prefix: set per call by begin_call().
local PRIMARY, RETRY, SCHEDULED, DLQ, LEASES, INDEX_ALL, INDEX_IDS, LEASE_SEQ
-- ACTIVE tasks a client asked to cancel; their workers poll it (docs/state-machine.md).
local CANCELLING
-- Ids a claim popped whose hash has malformed fields, set aside for an operator.
local CORRUPT
local CHANNEL
-- Every event is also appended here (replay and resume, docs/state-machine.md);
-- trimmed approximately, so a trim costs O(1) amortised. Mirrors keys.py / events.py.
local EVENTS
local EVENTS_MAXLEN = 100000
-- finish() writes one entry per script call, however many events it holds, so the
-- stream is trimmed by events, not entries: `added` counts the events written, and
-- `marks` holds the entry ids where that count passed each multiple of
-- EVENTS_MARK_EVERY; the stream keeps the entries from the oldest mark on.
local EVENTS_ADDED, EVENTS_MARKS
local EVENTS_MARK_EVERY = EVENTS_MAXLEN / 10
-- Recurring schedules: ids of the active (not paused) ones scored by next fire ms.
local SCHEDULES_DUE
-- Retention: terminal task ids with a retention, scored by the ms they expire at.
local EXPIRY
local TERMINAL = { COMPLETED = true, DLQ = true, CANCELLED = true }
-- Idle claimers block on their queues' wake-up lists (BLPOP) instead of polling;
-- each holds at most this many tokens.
local WAKEUP_CAP = 64
-- Named queues (docs/state-machine.md, Queues). `default` keeps the original keys;
-- queue q has the same lists under queues:q:. Per queue: new work per priority
-- level (level 0 = `primary`, levels 1..9 = `primary:p{p}`), the sorted set of
-- levels that may hold work, the new-work claim count (lower-level turns), due
-- retries, a list per task type no claimer could run (`waiting:{type}`) with the
-- set of types that may have one, and the wake-up list idle claimers block on.
local KNOWN_QUEUES, PAUSED_QUEUES
local DEFAULT_QUEUE = 'default'
-- The key names of each queue this call touched, and its wake-ups (per call).
local QUEUES
local function queue_keys(name)
  if name == nil or name == '' then name = DEFAULT_QUEUE end
  local q = QUEUES[name]
  if q then return q end
  local pending, waiting, wakeup
  if name == DEFAULT_QUEUE then
    pending, waiting, wakeup = key('tasks:pending'), key('tasks:waiting'), key('tasks:wakeup')
  else
    local base = key('queues:' .. name)
    pending, waiting, wakeup = base .. ':pending', base .. ':waiting', base .. ':wakeup'
  end
  q = { name = name, primary = pending .. ':primary', levels = pending .. ':levels',
    level_turn = pending .. ':level_turn', retry = pending .. ':retry',
    waiting_types = waiting, waiting_prefix = waiting .. ':', wakeup = wakeup, wake = 0 }
  QUEUES[name] = q
  return q
end
-- Tasks written before queue_name existed: a remote worker's named queue was the
-- `queue` field 'queue:NAME'.
local function queue_of(t)
  if t.queue_name ~= '' then return queue_keys(t.queue_name) end
  if string.sub(t.queue, 1, 6) == 'queue:' then return queue_keys(string.sub(t.queue, 7)) end
  return queue_keys(DEFAULT_QUEUE)
end
local STATES = { 'PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'SCHEDULED', 'DLQ', 'CANCELLED' }
-- (Top-level code runs at FUNCTION LOAD, where no global but `redis` exists: no
-- ipairs, pairs, unpack, string, math... here, only in functions.)
local IS_STATE = {}
for i = 1, #STATES do IS_STATE[STATES[i]] = true end
-- The timestamp field set when a task enters each state.
local ENTERED_AT = {
  ACTIVE = 'started_at', COMPLETED = 'completed_at', FAILED = 'failed_at',
  SCHEDULED = 'scheduled_at', DLQ = 'dlq_at', CANCELLED = 'cancelled_at',
}

-- Server clock, read once per script call (begin_call).
local function iso(sec, usec)
  -- Days-from-civil inverse (proleptic Gregorian), exact for any Unix time.
  local days = math.floor(sec / 86400)
  local rem = sec - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00', y, m, d,
    math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, usec)
end
local NOW_S, NOW_US, NOW_MS, NOW_ISO
-- Microseconds since the epoch as an exact decimal string (16 digits: too long for
-- Lua's default number-to-string conversion, which keeps 14).
local function us_string(offset) return string.format('%.0f', NOW_S * 1000000 + NOW_US + offset) end
local function iso_ms(ms) return iso(math.floor(ms / 1000), (ms % 1000) * 1000) end

-- Errors carry a code word the Python side maps to a domain error.
local function fail_with(code, message) error({ err = code .. ' ' .. message }) end

-- Reads the fields a transition needs and checks them before anything is written,
-- so a script either changes everything or nothing.
local TASK_FIELDS = { 'state', 'task_type', 'created_us', 'retry_count', 'max_retries',
  'lease_token', 'worker_id', 'queue', 'idempotency_key', 'cancel_requested_at', 'priority',
  'retention_s', 'queue_name', 'state_log' }
-- What a claim also reads, in the same HMGET: the input its worker gets (hand_over).
-- The numbers of the decimal texts 0..99, the usual counts (retry_count, priority...):
-- a table lookup where tonumber() would run strtod on every field of every task.
-- SMALL_TEXT the other way round (the claim's reply gives retry_count as text).
local SMALL_INT, SMALL_TEXT = {}, {}
for i = 0, 99 do
  SMALL_TEXT[i] = i .. ''
  SMALL_INT[SMALL_TEXT[i]] = i
end
local CLAIM_FIELDS = {}
for i = 1, #TASK_FIELDS do CLAIM_FIELDS[i] = TASK_FIELDS[i] end
CLAIM_FIELDS[#CLAIM_FIELDS + 1] = 'content'
CLAIM_FIELDS[#CLAIM_FIELDS + 1] = 'metadata'
-- `fields`: TASK_FIELDS (the default) or CLAIM_FIELDS. The row is one table
-- constructor in TASK_FIELDS' order (its size known at once: no rehash per field
-- added, docs/performance.md, "Server CPU per drained task"); `key` is the hash's name.
local function load_task(id, fields)
  local k = task_key(id)
  local v = redis.call('HMGET', k, unpack(fields or TASK_FIELDS))
  if not v[1] then return nil end
  local input = fields == CLAIM_FIELDS
  local t = { id = id, key = k, state = v[1], task_type = v[2] or '', created_us = v[3] or '',
    retry_count = SMALL_INT[v[4]] or tonumber(v[4] or ''),
    max_retries = SMALL_INT[v[5]] or tonumber(v[5] or ''),
    lease_token = v[6] or '', worker_id = v[7] or '', queue = v[8] or '',
    idempotency_key = v[9] or '', cancel_requested_at = v[10] or '',
    priority = SMALL_INT[v[11]] or tonumber(v[11] or '') or 0,
    retention_s = SMALL_INT[v[12]] or tonumber(v[12] or '') or 0,
    queue_name = v[13] or '', state_log = v[14] or '', created_n = tonumber(v[3] or ''),
    content = input and (v[15] or '') or nil, metadata = input and (v[16] or '') or nil }
  if not IS_STATE[t.state] or not t.created_n or not t.retry_count
      or not t.max_retries or t.task_type == '' then
    fail_with('CORRUPT', 'task ' .. id .. ' has malformed stored fields')
  end
  return t
end
local function must_load(id)
  local t = load_task(id)
  if not t then fail_with('NOTFOUND', 'task ' .. id .. ' does not exist') end
  return t
end

-- The new-work list of a priority level in queue q.
local function level_list(q, level)
  if level == 0 then return q.primary end
  return q.primary .. ':p' .. level
end
-- Puts an id on queue q's new-work list of its priority: at the tail, or at the
-- head (the next one out) for a task handed back.
local function push_new(q, id, priority, at_head)
  local level = tonumber(priority) or 0
  redis.call(at_head and 'RPUSH' or 'LPUSH', level_list(q, level), id)
  if level > 0 then redis.call('ZADD', q.levels, level, level) end
end
-- Parks a PENDING id no claimer of this call can run in q's list for its type.
local function push_waiting(q, id, task_type)
  redis.call('LPUSH', q.waiting_prefix .. task_type, id)
  redis.call('SADD', q.waiting_types, task_type)
end
-- Takes a PENDING task's id out of whichever list of its queue holds it (its
-- priority's new-work list, the retry list, its type's waiting list): cancel and
-- delete both need it.
local function unqueue_pending(t)
  local q = queue_of(t)
  redis.call('LREM', level_list(q, t.priority), 0, t.id)
  redis.call('LREM', q.retry, 0, t.id)
  redis.call('LREM', q.waiting_prefix .. t.task_type, 0, t.id)
end

-- A JSON list with one more entry, by splicing text: no decode and re-encode of the
-- whole history on every transition.
local function json_append(raw, entry)
  local item = cjson.encode(entry)
  if raw == '' or raw == '[]' or raw == '{}' or string.sub(raw, -1) ~= ']' then
    return '[' .. item .. ']'
  end
  return string.sub(raw, 1, -2) .. ',' .. item .. ']'
end

-- state_history as stored (taskflow/store/history.py reads it): the JSON list
-- `state_history` written at creation, then `state_log`, one compact entry per later
-- move (a state letter and the µs since created_us: 'A3329C1204729'), so a
-- transition writes a few bytes instead of re-sending the whole list. An entry with
-- a reason folds the log back into the JSON list.
local STATE_LETTER = { PENDING = 'P', ACTIVE = 'A', COMPLETED = 'C', FAILED = 'F',
  SCHEDULED = 'S', DLQ = 'D', CANCELLED = 'X' }
local LETTER_STATE = { P = 'PENDING', A = 'ACTIVE', C = 'COMPLETED', F = 'FAILED',
  S = 'SCHEDULED', D = 'DLQ', X = 'CANCELLED' }
-- The state_log entry of a task created at `created_n` (µs) entering `state` now.
local function log_entry(state, created_n)
  return STATE_LETTER[state] .. string.format('%d', NOW_S * 1000000 + NOW_US - created_n)
end
-- The history field(s) that record `t` entering `state` now, in HSET order;
-- t.state_log is updated to match (the JSON list is read only to fold the log in).
local function history_fields(t, state, reason)
  if not reason then
    t.state_log = t.state_log .. log_entry(state, t.created_n)
    return { 'state_log', t.state_log }
  end
  local raw = redis.call('HGET', task_key(t.id), 'state_history') or ''
  for letter, offset in string.gmatch(t.state_log, '(%u)(%-?%d+)') do
    local us = t.created_n + tonumber(offset)
    raw = json_append(raw, { state = LETTER_STATE[letter],
      timestamp = iso(math.floor(us / 1000000), us % 1000000) })
  end
  local fields = { 'state_history',
    json_append(raw, { state = state, timestamp = NOW_ISO, reason = reason }) }
  if t.state_log ~= '' then
    t.state_log = ''
    fields[3], fields[4] = 'state_log', ''
  end
  return fields
end

-- Listing-index changes are collected per script call and written in finish(), a
-- few ZADD/ZREM calls per index instead of several calls per task (a batch of
-- claims or promotions moves many ids between the same indexes).
local INDEX_ADD, INDEX_REM, INDEXED
local function index_add(index, score, id)
  local members = INDEX_ADD[index]
  if not members then members = {}; INDEX_ADD[index] = members end
  members[#members + 1] = score
  members[#members + 1] = id
end
local function index_remove(index, id)
  local ids = INDEX_REM[index]
  if not ids then ids = {}; INDEX_REM[index] = ids end
  ids[#ids + 1] = id
end
local INDEX_CHUNK = 4000  -- arguments per call, well inside Lua's unpack limit
local function flush_indexes()
  for index, members in pairs(INDEX_ADD) do
    for i = 1, #members, INDEX_CHUNK do
      redis.call('ZADD', index, unpack(members, i, math.min(i + INDEX_CHUNK - 1, #members)))
    end
  end
  for index, ids in pairs(INDEX_REM) do
    for i = 1, #ids, INDEX_CHUNK do
      redis.call('ZREM', index, unpack(ids, i, math.min(i + INDEX_CHUNK - 1, #ids)))
    end
  end
  INDEX_ADD, INDEX_REM, INDEXED = {}, {}, {}
end
-- ACTIVE has no listing index: `tasks:leases` holds exactly the ACTIVE ids (claim
-- adds the lease, every exit from ACTIVE removes it), so the listing reads those
-- (taskflow/store/listing.py) and a claim and its completion skip four sorted-set
-- writes per task (docs/performance.md, issue 19).
local UNINDEXED = { ACTIVE = true }
local function add_to_indexes(t, state)
  if UNINDEXED[state] then return end
  index_add(state_index(state), t.created_us, t.id)
  index_add(state_type_index(state, t.task_type), t.created_us, t.id)
end
local function remove_from_indexes(t, state)
  -- An id changed twice in one call: write the first change before queuing the
  -- second, so a removal never overtakes the addition it undoes.
  if INDEXED[t.id] then flush_indexes() end
  INDEXED[t.id] = true
  if UNINDEXED[state] then return end
  index_remove(state_index(state), t.id)
  index_remove(state_type_index(state, t.task_type), t.id)
end

-- Counter and worker-stat changes are summed per script call and written once, in
-- finish(), before the events go out.
local COUNTER_DELTA, STATS_DELTA
-- Called for every id pushed onto a pending list of queue q: one token wakes one
-- idle claimer of that queue.
local function wake(q) q.wake = q.wake + 1 end
-- Pushes a task onto queue q's retry list (at the consuming end when `at_head`)
-- and wakes a claimer.
local function enqueue_retry(q, id, at_head)
  redis.call(at_head and 'RPUSH' or 'LPUSH', q.retry, id)
  wake(q)
end
-- Puts a task on queue q's new-work list of its priority and wakes a claimer.
local function enqueue_new(q, id, priority, at_head)
  push_new(q, id, priority, at_head)
  wake(q)
end
local function count(state, delta) COUNTER_DELTA[state] = (COUNTER_DELTA[state] or 0) + delta end
local function count_worker(worker, field)
  if worker == '' then return end
  local per = STATS_DELTA[worker] or {}
  per[field] = (per[field] or 0) + 1
  STATS_DELTA[worker] = per
end

-- Per-minute task series (created, completed, failed, created->completed latency):
-- one hash per minute of the server clock (metrics:series:{minute}), summed per
-- script call and written once in finish(), kept SERIES_TTL_S. Latency buckets are
-- log-spaced, SERIES_STEPS per doubling of milliseconds: bucket b holds latencies
-- up to 2^(b / SERIES_STEPS) ms. Mirrored by taskflow/store/series.py.
local SERIES_TTL_S = 25 * 3600
local SERIES_STEPS = 4
local SERIES_DELTA, SERIES_MAX_MS
local LN2 = 0.6931471805599453  -- math.log(2), exactly
-- Bucket field names made once (a bucket past 128 is a latency of over 4 years).
local SERIES_BUCKET = {}
for b = 0, 128 do SERIES_BUCKET[b] = 'b' .. b end
local function series(field, delta) SERIES_DELTA[field] = (SERIES_DELTA[field] or 0) + delta end
local function series_completed(created_n)
  local ms = math.max(math.floor((NOW_S * 1000000 + NOW_US - created_n) / 1000), 0)
  local bucket = 0
  if ms > 1 then bucket = math.ceil(math.log(ms) / LN2 * SERIES_STEPS) end
  series('completed', 1)
  series('lat_sum_ms', ms)
  series(SERIES_BUCKET[bucket] or ('b' .. bucket), 1)
  if ms > SERIES_MAX_MS then SERIES_MAX_MS = ms end
end
-- Only this function writes a series hash, and each HINCRBY answers the field's new
-- value: when every field this call adds to answers just its delta, the hash may be
-- new and gets its EXPIRE; otherwise it existed, with the EXPIRE of the call that
-- made it (one EXPIRE per minute's hash, not one per call: a command and its
-- propagation saved on every other call). The maximum is written only when it moves.
local function write_series()
  if next(SERIES_DELTA) == nil then return end
  local k = PREFIX .. 'metrics:series:' .. math.floor(NOW_S / 60)
  local fresh = true
  for field, delta in pairs(SERIES_DELTA) do
    if redis.call('HINCRBY', k, field, delta) ~= delta then fresh = false end
  end
  if SERIES_DELTA.completed then
    local old = tonumber(redis.call('HGET', k, 'lat_max_ms')) or -1
    if SERIES_MAX_MS > old then redis.call('HSET', k, 'lat_max_ms', SERIES_MAX_MS) end
  end
  if fresh then redis.call('EXPIRE', k, SERIES_TTL_S) end
end

-- Moves a loaded task from its state to `new_state`: counters, indexes, history
-- (its entry carries `reason` when one is given), timestamps, and any `fields` the
-- transition sets, in one HSET (copied at once: a caller may reuse its table).
-- Queue membership is the caller's job (it differs per transition).
local function move_state(t, new_state, fields, reason)
  count(t.state, -1)
  count(new_state, 1)
  remove_from_indexes(t, t.state)
  add_to_indexes(t, new_state)
  local args, n
  if reason then
    args, n = { 'HSET', t.key or task_key(t.id), 'state', new_state, 'updated_at', NOW_ISO }, 6
    for _, v in ipairs(history_fields(t, new_state, reason)) do n = n + 1; args[n] = v end
  else  -- history_fields without a reason, inline: one table, sized at once
    t.state_log = t.state_log .. log_entry(new_state, t.created_n)
    args = { 'HSET', t.key or task_key(t.id), 'state', new_state, 'updated_at', NOW_ISO,
      'state_log', t.state_log }
    n = 8
  end
  local entered = ENTERED_AT[new_state]
  if entered then
    args[n + 1], args[n + 2] = entered, NOW_ISO
    n = n + 2
  end
  if fields then
    for i = 1, #fields do args[n + i] = fields[i] end
    n = n + #fields
  end
  if t.queue_name == '' and string.sub(t.queue, 1, 6) == 'queue:' then
    -- A task of the older named-queue scheme keeps its queue by name from now on.
    t.queue_name = string.sub(t.queue, 7)
    args[n + 1], args[n + 2] = 'queue_name', t.queue_name
    n = n + 2
  end
  redis.call(unpack(args, 1, n))
  -- Retention (docs/state-machine.md): a terminal task expires retention_s after it
  -- ended; one sent back from a terminal state (a DLQ retry) no longer expires.
  if TERMINAL[new_state] and (t.retention_s or 0) > 0 then
    redis.call('ZADD', EXPIRY, NOW_MS + t.retention_s * 1000, t.id)
  elseif TERMINAL[t.state] and not TERMINAL[new_state] then
    redis.call('ZREM', EXPIRY, t.id)
  end
  if new_state == 'COMPLETED' then series_completed(t.created_n)
  elseif new_state == 'FAILED' or new_state == 'DLQ' then series('failed', 1) end
  t.state = new_state
end

-- Fields that record a failure: error_history gains an entry (plus any `extra`
-- fields), last_error is set.
local function error_fields(t, message, error_type, transition, fields, extra)
  local raw = redis.call('HGET', task_key(t.id), 'error_history') or ''
  local entry = { timestamp = NOW_ISO, error = message, error_type = error_type,
    retry_count = t.retry_count, state_transition = transition }
  for k, v in pairs(extra or {}) do entry[k] = v end
  fields[#fields + 1] = 'error_history'
  fields[#fields + 1] = json_append(raw, entry)
  fields[#fields + 1] = 'last_error'
  fields[#fields + 1] = message
  fields[#fields + 1] = 'error_type'
  fields[#fields + 1] = error_type
  return fields
end

-- Holds taken and dropped by this call (lease index entries, workers' active-task
-- sets), written in finish(): one ZADD/ZREM and one SADD/SREM per worker for a whole
-- batch instead of one of each per task. Drops are written before takes, so an id
-- dropped and taken again in one call stays held.
local LEASE_ADD, LEASE_REM, ACTIVE_ADD, ACTIVE_REM
-- (`lists[name]`, made when first used, gets one value, or two with `b`.)
local function append(lists, name, a, b)
  local list = lists[name]
  if not list then list = {}; lists[name] = list end
  local n = #list
  list[n + 1] = a
  if b ~= nil then list[n + 2] = b end
end
-- `worker` holds task `id` under a lease that expires at `expiry_ms`.
local function take_hold(worker, id, expiry_ms)
  append(LEASE_ADD, LEASES, expiry_ms, id)
  append(ACTIVE_ADD, active_tasks_key(worker), id)
end
-- Drops a task's hold by a worker (lease, active-task set, pending cancel); the
-- caller clears the hash's lease_token in its move_state fields.
local function release_hold(t)
  append(LEASE_REM, LEASES, t.id)
  if t.worker_id ~= '' then append(ACTIVE_REM, active_tasks_key(t.worker_id), t.id) end
  if t.cancel_requested_at ~= '' then redis.call('SREM', CANCELLING, t.id) end
end
local function write_each(command, lists)
  for k, args in pairs(lists) do
    for i = 1, #args, INDEX_CHUNK do
      redis.call(command, k, unpack(args, i, math.min(i + INDEX_CHUNK - 1, #args)))
    end
  end
end
local function flush_holds()
  write_each('ZREM', LEASE_REM)
  write_each('SREM', ACTIVE_REM)
  write_each('ZADD', LEASE_ADD)
  write_each('SADD', ACTIVE_ADD)
  LEASE_ADD, LEASE_REM, ACTIVE_ADD, ACTIVE_REM = {}, {}, {}, {}
end

local function enter_dlq(t)
  redis.call('LPUSH', DLQ, t.id)
  local snapshot = redis.call('HGETALL', task_key(t.id))
  redis.call('DEL', dlq_task_key(t.id))
  redis.call('HSET', dlq_task_key(t.id), unpack(snapshot))
end

-- Due means PENDING (docs/state-machine.md, "Delayed tasks"): a SCHEDULED task
-- whose due time has passed is PENDING to every reader and claimer at once, while
-- promote.lua catches its hash up later. Each destination list has a scheduled
-- part, `<list>:scheduled` (ids scored by due ms, like tasks:scheduled), so a
-- list's depth is its length plus the due part of its scheduled part, and
-- promotion moves the due ids onto the list in bulk. tasks:scheduled keeps every
-- id whose hash is still SCHEDULED (moved onto a list or not) until the hash is
-- caught up; `tasks:scheduled:moved` the ids of those promotion moved onto their
-- list whose hash it has not caught up yet. Per queue, `<pending>:levels:scheduled`
-- holds the priority levels whose scheduled part may hold ids;
-- `tasks:scheduled:queues` the named queues (not `default`) whose parts may. An
-- id written to tasks:scheduled before the parts existed is in neither: promotion
-- catches it up and pushes it as it always did. Mirrors keys.py.
local function scheduled_part(list) return list .. ':scheduled' end
local function scheduled_levels(q) return q.levels .. ':scheduled' end
local function scheduled_queues() return key('tasks:scheduled:queues') end
local function scheduled_moved() return key('tasks:scheduled:moved') end
-- A `queue` field naming a first run (new-work lists) rather than a retry.
local function first_run(queue_field)
  return queue_field == 'primary' or string.sub(queue_field, 1, 6) == 'queue:'
end
-- The list a SCHEDULED task `t` goes to when due, by its stored `queue` field.
local function due_list(t)
  local q = queue_of(t)
  if first_run(t.queue) then return level_list(q, tonumber(t.priority) or 0), q end
  return q.retry, q
end
-- Puts SCHEDULED task `t` (its `queue` field as stored after this call) in
-- tasks:scheduled and in its destination's scheduled part, due at `due` ms.
local function schedule_task(t, due)
  local list, q = due_list(t)
  redis.call('ZADD', SCHEDULED, due, t.id)
  redis.call('ZADD', scheduled_part(list), due, t.id)
  local level = tonumber(t.priority) or 0
  if first_run(t.queue) and level > 0 then redis.call('ZADD', scheduled_levels(q), level, level) end
  if q.name ~= DEFAULT_QUEUE then redis.call('SADD', scheduled_queues(), q.name) end
end
-- Takes SCHEDULED task `t` out of wherever it waits: tasks:scheduled, and its
-- scheduled part or, when promotion already moved it, its destination list.
-- Returns the state readers saw it in: PENDING once due, else SCHEDULED.
local function unschedule_task(t)
  local due_ms = tonumber(redis.call('ZSCORE', SCHEDULED, t.id))
  redis.call('ZREM', SCHEDULED, t.id)
  local list = due_list(t)
  if redis.call('ZREM', scheduled_part(list), t.id) == 0
      and redis.call('SREM', scheduled_moved(), t.id) == 1 then
    redis.call('LREM', list, 0, t.id)
  end
  if due_ms and due_ms <= NOW_MS then return 'PENDING' end
  return 'SCHEDULED'
end
-- The µs since the epoch of a timestamp as the scripts write it (iso above).
local function iso_us(text)
  local y, m, d, hh, mm, ss, us = string.match(text,
    '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.(%d+)')
  y, m = tonumber(y), tonumber(m)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m > 2 and m - 3 or m + 9) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return ((days * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)) * 1000000)
    + tonumber(us)
end
-- When a due SCHEDULED task became PENDING: its due time, or the moment it entered
-- SCHEDULED when that is later (a due time is in whole ms; the entry in µs).
-- taskflow/store/due.py reads the same. `due_iso`: iso_ms(due_ms), when the
-- caller has it.
local function due_stamp_us(t, due_ms, due_iso)
  local entered = t.scheduled_at or redis.call('HGET', task_key(t.id), 'scheduled_at') or ''
  if entered ~= '' and entered > (due_iso or iso_ms(due_ms)) then return iso_us(entered) end
  return due_ms * 1000
end
-- SCHEDULED task `t` (loaded) -> PENDING as of its due time `due_ms`: its history
-- entry carries that stamp, the one every read showed since (taskflow/store/
-- due.py), so the history never changes once shown. Counters and indexes as
-- move_state; `queue` becomes its list's name. Its id's place (list or claim) and
-- its event are the caller's.
local function pending_at_due(t, due_ms, due_iso)
  count('SCHEDULED', -1)
  count('PENDING', 1)
  remove_from_indexes(t, 'SCHEDULED')
  add_to_indexes(t, 'PENDING')
  t.state_log = t.state_log .. 'P' .. string.format('%.0f', due_stamp_us(t, due_ms, due_iso) - t.created_n)
  local list_name = first_run(t.queue) and 'primary' or 'retry'
  local args = { 'HSET', task_key(t.id), 'state', 'PENDING', 'updated_at', NOW_ISO,
    'state_log', t.state_log }
  if t.queue_name == '' and string.sub(t.queue, 1, 6) == 'queue:' then
    -- A task of the older named-queue scheme keeps its queue by name from now on.
    t.queue_name = string.sub(t.queue, 7)
    args[#args + 1] = 'queue_name'
    args[#args + 1] = t.queue_name
  end
  if t.queue ~= list_name then
    args[#args + 1] = 'queue'
    args[#args + 1] = list_name
    t.queue = list_name
  end
  redis.call(unpack(args))
  t.state = 'PENDING'
end
-- The due part of queue q's scheduled parts, by its lists' names (primary sums
-- its levels), at the server clock.
local function due_depths(q)
  local primary = redis.call('ZCOUNT', scheduled_part(q.primary), '-inf', NOW_MS)
  for _, level in ipairs(redis.call('ZRANGE', scheduled_levels(q), 0, -1)) do
    primary = primary + redis.call('ZCOUNT', scheduled_part(level_list(q, tonumber(level))), '-inf', NOW_MS)
  end
  return primary, redis.call('ZCOUNT', scheduled_part(q.retry), '-inf', NOW_MS)
end

local function snapshot()
  local counts = redis.call('MGET', counter_key('PENDING'), counter_key('ACTIVE'),
    counter_key('COMPLETED'), counter_key('FAILED'), counter_key('SCHEDULED'), counter_key('DLQ'),
    counter_key('CANCELLED'))
  local state_counts = { PENDING = tonumber(counts[1] or '') or 0,
    ACTIVE = tonumber(counts[2] or '') or 0, COMPLETED = tonumber(counts[3] or '') or 0,
    FAILED = tonumber(counts[4] or '') or 0, SCHEDULED = tonumber(counts[5] or '') or 0,
    DLQ = tonumber(counts[6] or '') or 0, CANCELLED = tonumber(counts[7] or '') or 0 }
  -- Due means PENDING: SCHEDULED hashes already due count as PENDING (read only
  -- when some are scheduled, some due: a call with none pays one ZCARD, as before).
  local scheduled = redis.call('ZCARD', SCHEDULED)
  local due = scheduled > 0 and redis.call('ZCOUNT', SCHEDULED, '-inf', NOW_MS) or 0
  state_counts.SCHEDULED = state_counts.SCHEDULED - due
  state_counts.PENDING = state_counts.PENDING + due
  -- The original four depths are the default queue's, due scheduled ids included.
  local q = queue_keys(DEFAULT_QUEUE)
  local primary, retry = 0, 0
  if due > 0 then primary, retry = due_depths(q) end
  primary = primary + redis.call('LLEN', PRIMARY)
  for _, level in ipairs(redis.call('ZRANGE', q.levels, 0, -1)) do
    primary = primary + redis.call('LLEN', level_list(q, tonumber(level)))
  end
  return {
    primary = primary, retry = retry + redis.call('LLEN', RETRY),
    scheduled = scheduled - due, dlq = redis.call('LLEN', DLQ),
  }, state_counts
end

-- Appends a call's events to the stream as one entry: field `h` the JSON array of
-- each event's own fields, field `t` the fields they share (depths, counts, time);
-- taskflow/store/event_stream.py joins each head with the tail into the event's
-- JSON again. One event: field `e`, its `whole` JSON. Then trims by events: past the EVENTS_MAXLEN / EVENTS_MARK_EVERY-th
-- mark, everything before the oldest mark goes, so about EVENTS_MAXLEN (up to
-- EVENTS_MAXLEN + EVENTS_MARK_EVERY) events are kept.
local function append_events(heads, tail, whole)
  local n = #heads
  local id
  if n == 1 then  -- one event: its whole JSON, as entries always held before batching
    id = redis.call('XADD', EVENTS, '*', 'e', whole)
  else
    id = redis.call('XADD', EVENTS, '*', 'h', '[' .. table.concat(heads, ',') .. ']', 't', tail)
  end
  local added = redis.call('INCRBY', EVENTS_ADDED, n)
  if math.floor(added / EVENTS_MARK_EVERY) == math.floor((added - n) / EVENTS_MARK_EVERY) then
    return
  end
  if redis.call('RPUSH', EVENTS_MARKS, id) > EVENTS_MAXLEN / EVENTS_MARK_EVERY then
    redis.call('XTRIM', EVENTS, 'MINID', '~', redis.call('LPOP', EVENTS_MARKS))
  end
end

-- Whether the channel's messages may reach anyone: a client subscribed to it or
-- to any pattern on this server (PUBSUB NUMSUB / NUMPAT, read once per call). With
-- no one listening, a PUBLISH is a command, a JSON body and a propagation per event
-- for nothing (the monitor reads the events stream). On a Redis Cluster a message
-- reaches the subscribers of every node, but NUMSUB counts this node's only: the
-- library for a cluster (scripts.py) sets PUBLISH_ALWAYS, so it always publishes.
-- A user not allowed the PUBSUB reads (an ACL that grants PUBLISH alone) publishes
-- always, as before: the reads go through redis.pcall, whose error is a table.
local PUBLISH_ALWAYS = false
local function heard()
  if PUBLISH_ALWAYS then return true end
  local patterns = redis.pcall('PUBSUB', 'NUMPAT')
  if type(patterns) ~= 'number' or patterns > 0 then return true end
  local subscribed = redis.pcall('PUBSUB', 'NUMSUB', CHANNEL)
  return type(subscribed) ~= 'table' or subscribed.err ~= nil or subscribed[2] > 0
end

-- Ends every script that changes state: writes the summed counters and worker
-- stats, then the events (contract §5) with the queue depths and state counts as
-- they stand after this call's writes (that shared part encoded once): one stream
-- entry for them all, and on the channel, when someone listens (heard), one
-- message per event, its whole JSON. An event is a table of its own fields, or
-- their JSON text already (changed()).
local function finish(events)
  flush_indexes()
  flush_holds()
  write_series()
  for state, delta in pairs(COUNTER_DELTA) do
    if delta ~= 0 then redis.call('INCRBY', counter_key(state), delta) end
  end
  for worker, per in pairs(STATS_DELTA) do
    for field, delta in pairs(per) do redis.call('HINCRBY', worker_stats_key(worker), field, delta) end
  end
  for _, q in pairs(QUEUES) do
    if q.wake > 0 then
      local tokens = {}
      for i = 1, math.min(q.wake, WAKEUP_CAP) do tokens[i] = '1' end
      redis.call('LPUSH', q.wakeup, unpack(tokens))
      redis.call('LTRIM', q.wakeup, 0, WAKEUP_CAP - 1)
      q.wake = 0
    end
  end
  if #events == 0 then return end
  local depths, counts = snapshot()
  local shared = '"queue_depths":' .. cjson.encode(depths) .. ',"state_counts":'
    .. cjson.encode(counts) .. ',"timestamp":"' .. NOW_ISO .. '"}'
  local heads, publish = {}, heard()
  for i, event in ipairs(events) do
    local head = type(event) == 'string' and event or cjson.encode(event)
    heads[i] = head
    if publish then redis.call('PUBLISH', CHANNEL, string.sub(head, 1, -2) .. ',' .. shared) end
  end
  local whole = #heads == 1 and string.sub(heads[1], 1, -2) .. ',' .. shared or nil
  append_events(heads, '{' .. shared, whole)
end
-- A task_state_changed event's own fields (contract §5), as the JSON text finish()
-- sends (an event may also be a table, which finish() encodes): written as text, one
-- concatenation, instead of a table of five fields and its encoding per event.
local function changed(t, old_state, new_state)
  return '{"type":"task_state_changed","task_id":' .. cjson.encode(t.id) .. ',"task_type":'
    .. cjson.encode(t.task_type) .. ',"old_state":"' .. old_state .. '","new_state":"'
    .. new_state .. '"}'
end
-- Hands PENDING task `t` to `worker` (claim.lua and _claim_due.lua): ACTIVE under
-- lease `token` from the list `list_name` of its queue, held until the lease
-- expires, its event, and the row the worker gets (what it needs to run the task,
-- not the whole hash): six values appended to the flat `out` (one table per reply,
-- not one per task: the server checks every table of a reply for err/ok/map...).
-- `t` loaded with CLAIM_FIELDS saves a read of the input here.
local function hand_over(t, worker, token, lease_ms, list_name, out, events)
  local fields = { 'worker_id', worker, 'lease_token', token }
  if t.queue ~= list_name then
    fields[5], fields[6] = 'queue', list_name
  end
  move_state(t, 'ACTIVE', fields)
  take_hold(worker, t.id, NOW_MS + lease_ms)
  events[#events + 1] = changed(t, 'PENDING', 'ACTIVE')
  if not t.content then
    local input = redis.call('HMGET', task_key(t.id), 'content', 'metadata')
    t.content, t.metadata = input[1] or '', input[2] or ''
  end
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = token, t.id, t.task_type
  out[n + 4] = SMALL_TEXT[t.retry_count] or string.format('%d', t.retry_count)
  out[n + 5], out[n + 6] = t.content, t.metadata
end

-- Per-call setup: everything above that differs per call, set at the start of
-- every call (the function library's wrappers and the EVALSHA sources both call it
-- first), so no call sees the prefix, clock or accumulators of another, not even
-- of one that failed midway. An include with per-call state of its own registers
-- its reset with on_call(); the loader gives each script its own list (CALL_HOOKS).
local CALL_HOOKS = {}
local function on_call(reset) CALL_HOOKS[#CALL_HOOKS + 1] = reset end
local function new_call_hooks()
  CALL_HOOKS = {}
  return CALL_HOOKS
end
local function begin_call(argv, hooks)
  PREFIX = argv[1]
  PRIMARY, RETRY = key('tasks:pending:primary'), key('tasks:pending:retry')
  SCHEDULED, DLQ, LEASES = key('tasks:scheduled'), key('dlq:tasks'), key('tasks:leases')
  INDEX_ALL, INDEX_IDS = key('tasks:index:all'), key('tasks:index:ids')
  LEASE_SEQ, CANCELLING = key('tasks:lease_seq'), key('tasks:cancelling')
  CORRUPT = key('tasks:corrupt')
  CHANNEL, EVENTS = key('queue-updates'), key('tasks:events')
  EVENTS_ADDED, EVENTS_MARKS = key('tasks:events:added'), key('tasks:events:marks')
  SCHEDULES_DUE, EXPIRY = key('schedules:due'), key('tasks:expiry')
  KNOWN_QUEUES, PAUSED_QUEUES = key('queues:known'), key('queues:paused')
  QUEUES = {}
  local clock = redis.call('TIME')
  NOW_S, NOW_US = tonumber(clock[1]), tonumber(clock[2])
  NOW_MS = NOW_S * 1000 + math.floor(NOW_US / 1000)
  NOW_ISO = iso(NOW_S, NOW_US)
  INDEX_ADD, INDEX_REM, INDEXED = {}, {}, {}
  COUNTER_DELTA, STATS_DELTA = {}, {}
  SERIES_DELTA, SERIES_MAX_MS = {}, 0
  LEASE_ADD, LEASE_REM, ACTIVE_ADD, ACTIVE_REM = {}, {}, {}, {}
  for i = 1, #hooks do hooks[i]() end
end
