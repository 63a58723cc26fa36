-- bench/wrk.lua: the request of every scenario of bench/load.sh, chosen by the environment.
--
--   SCENARIO     health | login | refresh | client_credentials | introspect |
--                check_api_key | check_claims | mixed
--   BENCH_USER, BENCH_PASSWORD   login
--   CLIENT_BASIC                 base64(client_id:client_secret), for client_credentials and
--                                as the Basic caller of introspection
--   CLAIMS_TOKEN                 a claims JWT (introspect, check_claims)
--   API_KEY                      an X-VoltMX-App-API-Key (check_api_key)
--   REFRESH_FILE, WRK_THREADS    refresh, mixed: one refresh token per line, dealt out to the
--                                wrk threads; each token starts a chain (below)
--   MIX                          mixed: "name:weight,…" (weights in any unit)
--
-- Refresh tokens are single-use, so the refresh scenario chains: every response carries the
-- next token of its session, which goes back into the thread's pool and is used by the next
-- request that the thread sends. A thread needs a token per connection plus one: wrk 4.1 calls
-- request() once per thread before it connects and drops the result, so load.sh mints
-- connections + threads tokens. A failed refresh loses its chain; the connection then sends a
-- token that fails at once, so a lost chain shows up as a large non-2xx count.
--
-- Every run ends with one line for load.sh:
--   RESULT scenario=… requests=… seconds=… rps=… p50_ms=… p99_ms=… max_ms=… non2xx=… socket_errors=…

local scenario = os.getenv("SCENARIO") or "health"

local function need(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("bench/wrk.lua: " .. name .. " is not set (scenario " .. scenario .. ")")
  end
  return value
end

-- The fixed requests, as method, path, headers, body.
local fixed = {}

local function login_body()
  return string.format('{"userid":"%s","password":"%s"}', need("BENCH_USER"), need("BENCH_PASSWORD"))
end

fixed.health = { "GET", "/health", {}, nil }
if scenario == "login" or scenario == "mixed" then
  fixed.login = { "POST", "/login", { ["Content-Type"] = "application/json" }, login_body() }
end
if scenario == "client_credentials" or scenario == "mixed" then
  fixed.client_credentials = { "POST", "/oauth2/token", {
    ["Authorization"] = "Basic " .. need("CLIENT_BASIC"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=client_credentials" }
end
if scenario == "introspect" or scenario == "mixed" then
  fixed.introspect = { "POST", "/oauth2/introspect", {
    ["Authorization"] = "Basic " .. need("CLIENT_BASIC"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "token=" .. need("CLAIMS_TOKEN") }
end
if scenario == "check_api_key" or scenario == "mixed" then
  fixed.check_api_key = { "GET", "/api/v1/check", { ["X-VoltMX-App-API-Key"] = need("API_KEY") }, nil }
end
if scenario == "check_claims" or scenario == "mixed" then
  fixed.check_claims = { "GET", "/api/v1/check", { ["X-VoltMX-Authorization"] = need("CLAIMS_TOKEN") }, nil }
end

-- A scenario of one fixed request: wrk sends it as is (no Lua per request).
local f = fixed[scenario]
if f ~= nil then
  wrk.method = f[1]
  wrk.path = f[2]
  for k, v in pairs(f[3]) do
    wrk.headers[k] = v
  end
  wrk.body = f[4]
end

-- Dealing tokens out to threads: setup() runs in the main state, once per thread.
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
end

-- The refresh-token pool of this thread (a stack; any live token will do).
local pool = {}

local function load_tokens()
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  local mine = thread_index or 1
  local n = 0
  for line in io.lines(need("REFRESH_FILE")) do
    n = n + 1
    if line ~= "" and (n - 1) % threads == mine - 1 then
      pool[#pool + 1] = line
    end
  end
end

local function refresh_request(token)
  return wrk.format("POST", "/authService/accounts/refresh",
    { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

local function take_next_token(body)
  if body == nil then
    return
  end
  local token = string.match(body, '"refresh_token"%s*:%s*"(tsr_[%w]+)"')
  if token ~= nil then
    pool[#pool + 1] = token
  end
end

if scenario == "refresh" then
  function init(args)
    load_tokens()
  end

  function request()
    local token = table.remove(pool)
    if token == nil then
      -- The chain of this connection broke: send a token that fails, so it is counted.
      token = "tsr_broken"
    end
    return refresh_request(token)
  end

  function response(status, headers, body)
    take_next_token(body)
  end
end

if scenario == "mixed" then
  -- Weighted choice among the scenarios; refresh only while the pool has a token.
  local names, cumulative, total = {}, {}, 0
  local formatted = {}

  function init(args)
    load_tokens()
    local mix = os.getenv("MIX")
      or "check_api_key:30,introspect:25,check_claims:20,client_credentials:10,refresh:10,health:5,login:0.1"
    for name, weight in string.gmatch(mix, "([%w_]+):([%d%.]+)") do
      local w = tonumber(weight)
      if w > 0 and (fixed[name] ~= nil or name == "refresh") then
        total = total + w
        names[#names + 1] = name
        cumulative[#cumulative + 1] = total
      end
    end
    for name, r in pairs(fixed) do
      formatted[name] = wrk.format(r[1], r[2], r[3], r[4])
    end
    math.randomseed((thread_index or 1) * 7919)
  end

  function request()
    local x = math.random() * total
    for i = 1, #names do
      if x <= cumulative[i] then
        local name = names[i]
        if name == "refresh" then
          local token = table.remove(pool)
          if token ~= nil then
            return refresh_request(token)
          end
          return formatted.check_api_key or formatted.health
        end
        return formatted[name]
      end
    end
    return formatted.health
  end

  function response(status, headers, body)
    -- Refresh and login answers both carry a refresh token: keep it for a later refresh.
    if #pool < 256 then
      take_next_token(body)
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT scenario=%s requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
    scenario, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
