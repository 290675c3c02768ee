-- claim_due (included by claim.lua): a claimer whose lists are empty takes due
-- first runs straight from tasks:scheduled, so a mass of tasks due at one instant
-- is runnable at its time, not when the promotion duty reaches it
-- (docs/state-machine.md, "Delayed tasks"). Each taken task records SCHEDULED ->
-- PENDING -> ACTIVE (two history entries, two events) in this one call. Only a
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
    wanted * DUE_LOOK_FACTOR)
  local taken, gone = 0, {}
  for _, id in ipairs(due) do
    if taken == wanted then break end
    -- A task with malformed stored fields stays where it is, for an operator (as
    -- promote.lua leaves it): failing the whole claim would stop this claimer
    -- taking anything while its lists are empty.
    local readable, t = pcall(load_task, id)
    if not readable then  -- luacheck: ignore (left in tasks:scheduled)
    elseif not t or t.state ~= 'SCHEDULED' then
      gone[#gone + 1] = id  -- a stale pointer, as promote.lua would drop it
    elseif t.queue == 'primary' and takes(t) and limits_admit_due(t) then
      gone[#gone + 1] = id
      move_state(t, 'PENDING', {})
      events[#events + 1] = changed(t, 'SCHEDULED', 'PENDING')
      local token = string.format('%d', last_token + taken + 1)
      hand_over(t, worker, token, lease_ms, 'primary', out, events)
      taken = taken + 1
    end
  end
  if #gone > 0 then redis.call('ZREM', SCHEDULED, unpack(gone)) end
  return taken
end
