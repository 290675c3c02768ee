-- claim_due (included by claim.lua): a claimer whose lists are empty takes due
-- first runs straight from tasks:scheduled, so a mass of tasks due at one instant
-- is runnable at its time, not when the promotion duty reaches it
-- (docs/state-machine.md, "Delayed tasks"). Each taken task records SCHEDULED ->
-- PENDING -> ACTIVE (two history entries, two events) in this one call, PENDING
-- stamped at its due time (what every read showed). An id promotion already moved
-- onto its list is left to the list's path (catch_up_popped below). Only a
-- first run of the new-work lists (`queue` = 'primary') that `takes(t)` accepts
-- (of a queue the claimer consumes, of a type it runs) is taken here: a retry
-- keeps its path through promotion and the retry list, and another claimer's task
-- waits for it; both are left in tasks:scheduled for promote.lua.
-- Looks at most DUE_LOOK_FACTOR times `wanted` due ids, so due retries ahead of
-- them bound the work of a call.
-- Arguments: the worker, how many at most, the lease length in ms, the last lease
-- token used (the claim reserved enough after it), the claim's `out` rows and
-- `events`, which this appends to, and the claim's filter. Returns how many it took.
local DUE_LOOK_FACTOR = 4
local function claim_due(worker, wanted, lease_ms, last_token, out, events, takes)
  local due = redis.call('ZRANGE', SCHEDULED, '-inf', NOW_MS, 'BYSCORE', 'LIMIT', 0,
    wanted * DUE_LOOK_FACTOR, 'WITHSCORES')
  local taken, gone = 0, {}
  for i = 1, #due, 2 do
    if taken == wanted then break end
    local id = due[i]
    -- A task with malformed stored fields stays where it is, for an operator (as
    -- promote.lua leaves it): failing the whole claim would stop this claimer
    -- taking anything while its lists are empty.
    local readable, t = pcall(load_task, id)
    if not readable then  -- luacheck: ignore (left in tasks:scheduled)
    elseif not t or t.state ~= 'SCHEDULED' then
      gone[#gone + 1] = id  -- a stale pointer, as promote.lua would drop it
    elseif t.queue == 'primary' and takes(t) then
      local part = scheduled_part(due_list(t))
      if redis.call('ZSCORE', part, id) and limits_admit_due(t) then
        gone[#gone + 1] = id
        redis.call('ZREM', part, id)
        pending_at_due(t, tonumber(due[i + 1]))
        events[#events + 1] = changed(t, 'SCHEDULED', 'PENDING')
        local token = string.format('%d', last_token + taken + 1)
        hand_over(t, worker, token, lease_ms, 'primary', out, events)
        taken = taken + 1
      end
    end
  end
  if #gone > 0 then redis.call('ZREM', SCHEDULED, unpack(gone)) end
  return taken
end

-- A SCHEDULED id popped from a list: promotion moved it there (due, out of its
-- scheduled part, into tasks:scheduled:moved) before catching its hash up. It
-- becomes PENDING as of its due time here, as claim_due records it; any other is
-- a stale copy, left as it is. Returns `t` when caught up.
local function catch_up_popped(t, events)
  local due_ms = tonumber(redis.call('ZSCORE', SCHEDULED, t.id))
  if not due_ms or redis.call('SREM', scheduled_moved(), t.id) == 0 then return nil end
  redis.call('ZREM', SCHEDULED, t.id)
  pending_at_due(t, due_ms)
  events[#events + 1] = changed(t, 'SCHEDULED', 'PENDING')
  return t
end
