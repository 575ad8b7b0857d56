-- watch: a client waits for a run to finish. Marks the run as watched (so the finishing script
-- publishes its id on {P}done) and returns its current state in the same round trip.
-- KEYS[1] run hash
-- ARGV: none
-- Returns {status, output, error} ({false...} when the run does not exist).
local r = redis.call('HMGET', KEYS[1], 'status', 'output', 'error')
if not r[1] then return {} end
if r[1] ~= 'succeeded' and r[1] ~= 'failed' and r[1] ~= 'canceled' then
  redis.call('HSET', KEYS[1], 'watched', '1')
end
return r
