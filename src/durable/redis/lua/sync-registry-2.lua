-- sync-registry: publish the metadata of the workflows an app registers and remove the entries
-- of that app that it no longer registers (with their event triggers).
-- KEYS[1] {P}workflows hash (name -> metadata JSON)   KEYS[2] {P}app:<app> set of names
-- ARGV[1] P   ARGV[2] app   ARGV[3..] metadata JSON of each workflow ({name, app, triggers, ...})
-- Returns the names removed.
local P = ARGV[1]
local app = ARGV[2]
local function drop_triggers(name, metaJson)
  if not metaJson then return end
  local m = cjson.decode(metaJson)
  if type(m.triggers) == 'table' then
    for _, t in ipairs(m.triggers) do redis.call('SREM', P .. 'triggers:' .. t.event, name) end
  end
end
local new = {}
for i = 3, #ARGV do
  local m = cjson.decode(ARGV[i])
  new[m.name] = ARGV[i]
end
local removed = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not new[name] then
    local old = redis.call('HGET', KEYS[1], name)
    if old and cjson.decode(old).app == app then
      drop_triggers(name, old)
      redis.call('HDEL', KEYS[1], name)
      table.insert(removed, name)
    end
    redis.call('SREM', KEYS[2], name)
  end
end
for name, json in pairs(new) do
  drop_triggers(name, redis.call('HGET', KEYS[1], name))
  redis.call('HSET', KEYS[1], name, json)
  redis.call('SADD', KEYS[2], name)
  local m = cjson.decode(json)
  for _, t in ipairs(m.triggers) do redis.call('SADD', P .. 'triggers:' .. t.event, name) end
end
return removed
