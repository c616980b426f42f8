-- wrk script for tests/bench/soak.sh: a mixed, hostile load on one gateway. Each request is drawn
-- at random: generations (OpenAI, Seedream and Kling dialects; b64_json, url and streams; prompts
-- from a small pool, so many are cache hits), edits, provider faults (x-sim-fault), malformed
-- requests, MCP sessions and generate_image tool calls, the admin API (with names that are not
-- UTF-8), and the operational endpoints. Every response's status is counted; at the end the counts
-- are written to SOAK_COUNTS (one "kind status count" line each).

local png = nil
local boundary = "soak-boundary-7d1e"

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local faults = {"429", "500", "503", "reset-before-headers", "reset-mid-body", "stall", "slow-drip"}

local function prompt(pool)
  return "soak scene " .. math.random(pool)
end

local sent = 0
local admin = {["Authorization"] = "Bearer soak-admin"}  -- soak.sh's SOAK_ADMIN_TOKEN

-- Each request carries x-request-id "soak-<kind>-<n>", which the gateway echoes, so a response is
-- counted under the kind of request that caused it.
local function tagged(kind, extra)
  sent = sent + 1
  local headers = {["x-request-id"] = "soak-" .. kind .. "-" .. sent}
  for k, v in pairs(extra or {}) do headers[k] = v end
  return headers
end

local function json_post(kind, path, body, extra)
  local headers = tagged(kind, extra)
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, headers, body)
end

local function generation(kind, model, fields, extra)
  local body = string.format('{"model":"%s","prompt":"%s"%s}', model, prompt(40), fields or "")
  return json_post(kind, "/v1/images/generations", body, extra)
end

local function edit(kind, model, text)
  local parts = {
    "--" .. boundary, 'Content-Disposition: form-data; name="model"', "", model,
    "--" .. boundary, 'Content-Disposition: form-data; name="prompt"', "", text or prompt(10),
    "--" .. boundary, 'Content-Disposition: form-data; name="image"; filename="a.png"',
    "Content-Type: image/png", "", png,
    "--" .. boundary .. "--", ""}
  local headers = tagged(kind, {["Content-Type"] = "multipart/form-data; boundary=" .. boundary})
  return wrk.format("POST", "/v1/images/edits", headers, table.concat(parts, "\r\n"))
end

function makers_initialize()
  return json_post("mcp", "/mcp",
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",' ..
    '"capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}',
    {["Accept"] = "application/json, text/event-stream"})
end

local makers = {
  function() return generation("openai", "gpt-image-1") end,
  function() return generation("openai-url", "gpt-image-1", ',"response_format":"url"') end,
  function() return generation("openai-stream", "gpt-image-1", ',"stream":true,"partial_images":2') end,
  function() return generation("openai-n2", "gpt-image-1", ',"n":2,"size":"1536x1024"') end,
  function()
    local body = string.format('{"model":"gpt-image-1","prompt":"fault %d"}', math.random(1e9))
    local fault = faults[math.random(#faults)]
    return json_post("fault", "/v1/images/generations", body, {["x-sim-fault"] = fault})
  end,
  function() return generation("seedream", "seedream-4.5") end,
  function()
    return generation("seedream-stream", "seedream-4.5", ',"stream":true,"response_format":"b64_json"')
  end,
  function()
    return generation("seedream-set", "seedream-4.5",
      ',"sequential_image_generation":"auto","sequential_image_generation_options":{"max_images":3}')
  end,
  function() return generation("kling", "kling-v3", ',"size":"1024x1024"') end,
  function() return edit("edit-openai", "gpt-image-1") end,
  function() return edit("edit-seedream", "seedream-4.5") end,
  function() return edit("malformed", "kling-v3", "not UTF-8 \255\254") end,
  function()
    return json_post("malformed", "/v1/images/generations", '{"model":"gpt-image-1","prompt":')
  end,
  function()
    return json_post("malformed", "/v1/images/generations", '[1,2,3]')
  end,
  function()
    return json_post("malformed", "/v1/images/generations", '{"model":"gpt-image-1","prompt":"x","n":99}')
  end,
  function() return json_post("unknown-model", "/v1/images/generations", '{"model":"nope","prompt":"x"}') end,
  function() return makers_initialize() end,
  function()  -- a tool call in this thread's latest MCP session (an initialize until it has one)
    if not mcp_session then return makers_initialize() end
    local body = string.format('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":' ..
      '{"name":"generate_image","arguments":{"prompt":"%s","model":"gpt-image-1"}}}', prompt(40))
    return json_post("mcp-tool", "/mcp", body, {["Accept"] = "application/json, text/event-stream",
      ["Mcp-Session-Id"] = mcp_session, ["MCP-Protocol-Version"] = "2025-11-25"})
  end,
  function()  -- the admin and usage API, read while the cache and the ledger are written
    local paths = {"/admin/cache/stats", "/admin/usage", "/admin/keys", "/v1/usage?since=2026-01-01"}
    return wrk.format("GET", paths[math.random(#paths)], tagged("admin", admin))
  end,
  function() return wrk.format("DELETE", "/admin/cache?model=soak-none", tagged("admin", admin)) end,
  function()  -- names that decode to bytes that are not UTF-8 (a purge of one ended the gateway)
    local bytes = string.format("%%%02X%%%02X", math.random(0, 255), math.random(0, 255))
    if math.random(2) == 1 then  -- 0xFF and 0xFE are in no UTF-8 text
      return wrk.format("DELETE", "/admin/cache?model=%FF" .. bytes, tagged("malformed", admin))
    end
    return wrk.format("GET", "/admin/usage?key=" .. bytes .. "%FE", tagged("malformed", admin))
  end,
  function() return wrk.format("GET", "/v1/models", tagged("models")) end,
  function() return wrk.format("GET", "/healthz", tagged("healthz")) end,
  function() return wrk.format("GET", "/metrics", tagged("metrics")) end,
}

mcp_session = nil  -- this thread's latest MCP session id
counts = {}  -- global: done() reads each thread's with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  png = read_file(os.getenv("SOAK_PNG"))
  math.randomseed(tonumber(os.getenv("SOAK_SEED") or "1") + math.floor(os.clock() * 1e6))
end

function request()
  return makers[math.random(#makers)]()
end

function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"] or ""
  local kind = string.match(id, "^soak%-(.+)%-%d+$") or "untagged"
  local session = headers["mcp-session-id"] or headers["Mcp-Session-Id"]
  if session then mcp_session = session end
  -- A tool call answers 200 with its failure inside the JSON-RPC result.
  if kind == "mcp-tool" and (string.find(body, '"isError":true', 1, true) or
                             not string.find(body, '"result"', 1, true)) then
    kind = "mcp-tool-failed"
  end
  local key = kind .. " " .. status
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do total[status] = (total[status] or 0) + n end
  end
  local out = assert(io.open(os.getenv("SOAK_COUNTS"), "w"))
  for key, n in pairs(total) do out:write(key, " ", n, "\n") end
  out:close()
end
