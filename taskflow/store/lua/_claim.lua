-- The claim (claim.lua's ARGV layout in `A`, see there), shared by claim.lua and
-- complete_and_claim.lua: appends each claimed task's row to `out` and its event
-- to `events`; the caller ends the call with finish(events). When the lists ran
-- dry, one more value follows the rows (the next due time, see the end).
local function claim_tasks(A, out, events)
  local worker, wanted, lease_ms, u = A[2], tonumber(A[3]), tonumber(A[4]), tonumber(A[5])
  local lower_every = tonumber(A[11])
  local type_count = tonumber(A[12]) or 0
  -- Ids of types this claimer cannot run that one call may set aside (the rest wait
  -- for the next call, so a call stays short however deep a queue is).
  local SET_ASIDE_MAX = 1000
  local runs = nil
  if type_count > 0 then
    runs = {}
    for i = 13, 12 + type_count do runs[A[i]] = true end
  end

  -- The queues to claim from, paused ones left out.
  local sources, total_weight = {}, 0
  local function add_source(name, weight)
    local q = queue_keys(name)
    if weight > 0 and redis.call('SISMEMBER', PAUSED_QUEUES, q.name) == 0 then
      sources[#sources + 1] = { q = q, weight = weight }
      total_weight = total_weight + weight
    end
  end
  if #A < 13 + type_count then add_source(DEFAULT_QUEUE, 1) end
  for i = 13 + type_count, #A - 1, 2 do add_source(A[i], tonumber(A[i + 1]) or 1) end
  -- Whether this claimer may take a task: of a queue it consumes (not paused), of a
  -- type it runs.
  local consumed = {}
  for _, src in ipairs(sources) do consumed[src.q.name] = true end
  local function takes(t) return consumed[queue_of(t).name] and (not runs or runs[t.task_type]) end

  -- Per queue, read once when first drawn: its retry ratio and its priority levels.
  local drawn = {}
  local function prepare(src)
    local q = src.q
    drawn[#drawn + 1] = src
    local retry_len = redis.call('LLEN', q.retry)
    -- Nothing else adds to it during this call: an empty retry list is not popped.
    src.retry_left = retry_len
    src.ratio = tonumber(A[6])
    if retry_len >= tonumber(A[9]) then src.ratio = tonumber(A[10])
    elseif retry_len >= tonumber(A[7]) then src.ratio = tonumber(A[8]) end
    -- Levels that may hold new work, highest first; level 0 (`primary`) last.
    src.order = {}
    for i, level in ipairs(redis.call('ZREVRANGE', q.levels, 0, -1)) do src.order[i] = tonumber(level) end
    src.order[#src.order + 1] = 0
  end

  -- With level 0 alone left, up to `room` ids are popped in one call and kept in
  -- src.ahead (oldest first) for the next draws; push_back_ahead() returns any left.
  local function pop_new(src, room)
    local q, order, lower = src.q, src.order, false
    local ahead = src.ahead
    if ahead and src.ahead_at <= #ahead then
      src.ahead_at = src.ahead_at + 1
      return ahead[src.ahead_at - 1]
    end
    if #order == 1 and order[1] == 0 then
      local ids = redis.call('RPOP', q.primary, room)
      if not ids then
        table.remove(order, 1)
        return nil
      end
      src.ahead, src.ahead_at = ids, 2
      return ids[1]
    end
    if #order > 1 and lower_every > 0 then
      -- Count of new-work claims, kept across calls (read only when levels are in use).
      src.turn = (src.turn or tonumber(redis.call('GET', q.level_turn)) or 0) + 1
      lower = src.turn % lower_every == 0
    end
    while #order > 0 do
      local at = 1
      if lower and #order > 1 then at = 2 + math.floor(src.turn / lower_every) % (#order - 1) end
      local level = order[at]
      local id = redis.call('RPOP', level_list(q, level))
      if id then return id end
      if level > 0 then redis.call('ZREM', q.levels, level) end
      table.remove(order, at)
    end
    return nil
  end

  local function push_back_ahead(src)
    local ahead = src.ahead
    if not ahead or src.ahead_at > #ahead then return end
    local back = {}
    for i = #ahead, src.ahead_at, -1 do back[#back + 1] = ahead[i] end
    redis.call('RPUSH', src.q.primary, unpack(back))
    src.ahead = nil
  end

  -- The next id of one queue and the list it came from (nil once the queue is empty);
  -- `room`: how many more this call may take.
  local function pop(src, draw, room)
    if not src.order then prepare(src) end
    local retry = src.q.retry
    -- A golden-ratio sequence from one random start: over a batch the share of
    -- reads that try the retry list first matches the ratio closely.
    local retry_first = draw < src.ratio
    local id
    if retry_first and src.retry_left > 0 then id = redis.call('RPOP', retry) end
    if id then src.retry_left = src.retry_left - 1; return id, 'retry' end
    id = pop_new(src, room)
    if id then return id, 'primary' end
    if not retry_first and src.retry_left > 0 then id = redis.call('RPOP', retry) end
    if id then src.retry_left = src.retry_left - 1; return id, 'retry' end
    return nil
  end

  local taken, set_aside = 0, 0
  -- Lease tokens for the whole batch come from one INCRBY.
  local next_token = tonumber(redis.call('INCRBY', LEASE_SEQ, wanted)) - wanted

  -- Admits one popped id of queue q: the claimer takes it (true), or it is set aside
  -- in q's waiting list for its type, or dropped as a stale pointer (its hash gone or
  -- not PENDING). A due SCHEDULED id promotion moved here is PENDING first.
  local function admit(id, list_name, q)
    local readable, t = pcall(load_task, id, CLAIM_FIELDS)
    if not readable then
      -- Malformed stored fields: set aside in tasks:corrupt for an operator. Failing
      -- the call would lose the ids it popped already (a script's writes stay) and
      -- stop every claimer at this id.
      redis.call('LPUSH', CORRUPT, id)
      return false
    end
    if t and t.state == 'SCHEDULED' then t = catch_up_popped(t, events) end
    if not t or t.state ~= 'PENDING' then return false end
    if runs and not runs[t.task_type] then
      push_waiting(q, id, t.task_type)
      set_aside = set_aside + 1
      return false
    end
    if not limits_admit(t, events) then return false end
    next_token = next_token + 1
    hand_over(t, worker, string.format('%d', next_token), lease_ms, list_name, out, events)
    taken = taken + 1
    return true
  end

  -- First the waiting lists of the types this claimer runs (any, for a claimer that
  -- names none): they were set aside for a claimer like this one.
  for _, src in ipairs(sources) do
    local q = src.q
    if taken >= wanted then break end
    for _, task_type in ipairs(redis.call('SMEMBERS', q.waiting_types)) do
      if taken >= wanted then break end
      if not runs or runs[task_type] then
        local list = q.waiting_prefix .. task_type
        while taken < wanted do
          local id = redis.call('RPOP', list)
          if not id then
            redis.call('SREM', q.waiting_types, task_type)
            break
          end
          local t_queue = redis.call('HGET', task_key(id), 'queue')
          admit(id, t_queue == 'retry' and 'retry' or 'primary', q)
        end
      end
    end
  end

  local draw, pick = u, u
  while taken < wanted and #sources > 0 and set_aside < SET_ASIDE_MAX do
    draw = (draw + 0.6180339887498949) % 1
    -- The queue: the same low-discrepancy draw, with the weights as shares.
    local at = 1
    if #sources > 1 then
      pick = (pick + 0.6180339887498949) % 1
      local point, sum = pick * total_weight, 0
      for i, src in ipairs(sources) do
        sum = sum + src.weight
        at = i
        if point < sum then break end
      end
    end
    local src = sources[at]
    local id, list_name = pop(src, draw, wanted - taken)
    if id then
      admit(id, list_name, src.q)
    else
      total_weight = total_weight - src.weight
      table.remove(sources, at)
    end
  end
  -- Lists empty and room left: due first runs straight from tasks:scheduled
  -- (_claim_due.lua), of the queues and types this claimer takes.
  if taken < wanted then
    taken = taken + claim_due(worker, wanted - taken, lease_ms, next_token, out, events, takes)
  end
  for _, src in ipairs(drawn) do
    push_back_ahead(src)
    if src.turn then redis.call('SET', src.q.level_turn, src.turn) end
  end
  -- Short of `wanted` because every list ran dry (not stopped by SET_ASIDE_MAX):
  -- one more value ends the reply, the ms until the earliest task in tasks:scheduled
  -- falls due (plus one, so it is due when the next claim runs), or -1 when none is
  -- scheduled or it is due already (left to promotion). An idle claimer waits that
  -- long at most, without reading it in a round trip of its own
  -- (TaskStore.claim's ClaimBatch).
  if taken < wanted and #sources == 0 then
    local earliest = redis.call('ZRANGE', SCHEDULED, 0, 0, 'WITHSCORES')
    local wait_ms = earliest[2] and tonumber(earliest[2]) - NOW_MS or 0
    out[#out + 1] = wait_ms > 0 and math.ceil(wait_ms) + 1 or -1
  end
  return out
end
