-- Neovim (0.11+) client of the playbook language server: `require('playbook').setup{}`.
--
-- Thin on purpose: the server checks, completes, navigates, offers the code actions and lenses
-- and runs the builds. This plugin detects cases and playbooks, starts `playbook lsp` through
-- `vim.lsp.config`/`vim.lsp.enable`, tells the server whether it may run anything, and shows
-- build events in a log buffer and through `vim.notify`. See `:help playbook`.
local detect = require('playbook.detect')
local log = require('playbook.log')

local M = {}

local RUN_BUILD = 'playbook.runBuild'
local RUN_ACTIVITY = 'playbook.runActivity'
local STOP_BUILD = 'playbook.stopBuild'
local RECORD_ALL_MISSING = 'playbook.recordAllMissing'
local UNTRUSTED = 'not trusted'

M.defaults = {
  --- The server command; default `$PLAYBOOK_BIN lsp`, else `playbook lsp` from PATH.
  cmd = nil,
  --- May the server run builds (the playbook's `sh run` blocks) in a workspace?
  --- `true`, `false`, `'ask'` (ask once per workspace and session, on the first build) or
  --- `function(root_dir) -> boolean`.
  trusted = 'ask',
  --- Markers of a workspace root (else the current directory, when the file is under it).
  root_markers = { '.git' },
  --- The build log: `open` = 'split' | 'vsplit' | 'tab' | false (do not open on build start).
  log = { open = 'split', height = 12 },
  --- Build start, failures and the summary through vim.notify.
  notify = true,
  --- Show code lenses (status, ▶ Run) and keep them fresh.
  codelens = true,
  --- Extra `vim.lsp.config` fields (on_attach, capabilities, …), merged in.
  lsp = {},
}

M.config = vim.deepcopy(M.defaults)
--- Workspace roots the user trusted this session (`trusted = 'ask'`).
local trusted_roots = {}
--- The latest `playbook/status` per client. The request answers every case; a notification
--- carries only the cases that changed since the previous one and lists in `removed` those
--- that went, so notifications are merged by URI.
M.status = {}

--- `old` (a status or nil) updated by the notification `params`.
function M.merge_status(old, params)
  local by_uri, order = {}, {}
  for _, c in ipairs((old and old.cases) or {}) do
    by_uri[c.uri] = c
  end
  for _, uri in ipairs(params.removed or {}) do
    by_uri[uri] = nil
  end
  for _, c in ipairs(params.cases or {}) do
    by_uri[c.uri] = c
  end
  for uri in pairs(by_uri) do
    table.insert(order, uri)
  end
  table.sort(order)
  local cases = {}
  for _, uri in ipairs(order) do
    table.insert(cases, by_uri[uri])
  end
  return { busy = params.busy, generation = params.generation, cases = cases }
end

local function server_cmd()
  if M.config.cmd then
    return M.config.cmd
  end
  return { vim.env.PLAYBOOK_BIN or 'playbook', 'lsp' }
end

local function is_trusted(root)
  local t = M.config.trusted
  if type(t) == 'function' then
    return t(root) == true
  elseif t == 'ask' then
    return trusted_roots[root] == true
  end
  return t == true
end

local function root_dir(bufnr, on_dir)
  local root = vim.fs.root(bufnr, M.config.root_markers)
  if not root then
    local path = vim.api.nvim_buf_get_name(bufnr)
    local cwd = vim.fs.normalize(vim.uv.cwd())
    if vim.startswith(vim.fs.normalize(path), cwd .. '/') then
      root = cwd
    else
      root = vim.fs.dirname(path)
    end
  end
  on_dir(root)
end

--- The playbook client for a buffer (else any playbook client).
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = 'playbook', bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'playbook' })
  end
  return clients[1]
end

local function buf_uri(bufnr)
  local ft = vim.bo[bufnr].filetype
  if ft == 'yaml.playbook' or ft == 'markdown.playbook' then
    return vim.uri_from_bufnr(bufnr)
  end
  return nil
end

--- Asks for trust when the configuration says so; tells the server. Calls `go()` when trusted.
local function with_trust(client, go)
  local root = client.root_dir or vim.uv.cwd()
  if is_trusted(root) then
    return go()
  end
  if M.config.trusted ~= 'ask' then
    vim.notify('Playbook: builds are off in ' .. root .. " (setup{ trusted = … })", vim.log.levels.WARN)
    return
  end
  local choice = vim.fn.confirm(
    'Run builds in ' .. root .. "?\nThe playbook's `sh run` blocks will run on this machine.",
    '&Yes\n&No',
    2
  )
  if choice ~= 1 then
    return
  end
  trusted_roots[root] = true
  client:notify('workspace/didChangeConfiguration', { settings = { playbook = { trustedWorkspace = true } } })
  go()
end

--- Sends a server command; the run commands open the log. Retries briefly while the server
--- has not yet applied a trust change it was just sent.
function M.execute(client, command, args, bufnr, on_result)
  local tries = 0
  local function send()
    tries = tries + 1
    client:request('workspace/executeCommand', { command = command, arguments = { args or vim.empty_dict() } }, function(err, result)
      if err then
        local message = err.message or vim.inspect(err)
        if message:find(UNTRUSTED, 1, true) and tries < 10 and is_trusted(client.root_dir or vim.uv.cwd()) then
          return vim.defer_fn(send, 100)
        end
        if command ~= RUN_BUILD and command ~= RUN_ACTIVITY and command ~= STOP_BUILD then
          -- (the server explains build errors itself, with window/showMessage)
          vim.notify('Playbook: ' .. message, vim.log.levels.ERROR)
        end
        return
      end
      if (command == RUN_BUILD or command == RUN_ACTIVITY) and type(result) == 'table' and result.job then
        log.started(client.id, result.job, result.uri)
      end
      if on_result then
        on_result(result)
      end
    end, bufnr)
  end
  send()
end

--- Client-side handlers for the commands of code lenses and code actions, so a lens's
--- "▶ Run" asks for trust and opens the log like :PlaybookBuild does.
local function lens_command(command)
  return function(cmd, ctx)
    local client = assert(vim.lsp.get_client_by_id(ctx.client_id))
    local args = cmd.arguments and cmd.arguments[1] or vim.empty_dict()
    if command == RUN_BUILD or command == RUN_ACTIVITY then
      with_trust(client, function()
        M.execute(client, command, args, ctx.bufnr)
      end)
    else
      M.execute(client, command, args, ctx.bufnr)
    end
  end
end

local function need_client(bufnr)
  local client = M.client(bufnr)
  if not client then
    vim.notify('Playbook: no playbook language server is running (open a working case)', vim.log.levels.WARN)
  end
  return client
end

--- :PlaybookBuild[!] [local] — the current phase's build of this case (or of the only case).
function M.build(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  local args = { uri = buf_uri(bufnr), ['local'] = opts['local'] or nil, force = opts.force or nil }
  with_trust(client, function()
    M.execute(client, RUN_BUILD, next(args) and args or vim.empty_dict(), bufnr)
  end)
end

--- :PlaybookRun[!] {activity}
function M.run_activity(activity, opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  with_trust(client, function()
    M.execute(client, RUN_ACTIVITY, { uri = buf_uri(bufnr), activity = activity, force = opts.force or nil }, bufnr)
  end)
end

--- :PlaybookStop — the running builds of this client.
function M.stop()
  local client = need_client(vim.api.nvim_get_current_buf())
  if not client then
    return
  end
  local running = log.running(client.id)
  local args = #running == 1 and { job = running[1].job } or vim.empty_dict()
  M.execute(client, STOP_BUILD, args, nil, function(result)
    local stopped = type(result) == 'table' and result.stopped or {}
    if #stopped == 0 then
      vim.notify('Playbook: no build is running', vim.log.levels.INFO)
    else
      vim.notify('Playbook: stopping ' .. table.concat(stopped, ', '), vim.log.levels.INFO)
    end
  end)
end

--- The status lines :PlaybookStatus shows (phase, answered/required, missing, last build).
function M.status_lines(status, only_uri)
  local lines = {}
  for _, c in ipairs(status.cases or {}) do
    if not only_uri or c.uri == only_uri then
      local name = vim.fn.fnamemodify(vim.uri_to_fname(c.uri), ':~:.')
      local phase = c.phase ~= vim.NIL and c.phase and ('Phase ' .. c.phase) or 'no phase'
      if c.phaseName and c.phaseName ~= vim.NIL then
        phase = phase .. ': ' .. c.phaseName
      end
      table.insert(lines, string.format('%s — %s · answered %d/%d', name, phase, c.answered, c.required))
      if c.missing and #c.missing > 0 then
        table.insert(lines, '  missing: ' .. table.concat(c.missing, ', '))
      end
      local b = c.lastBuild
      if b and b ~= vim.NIL then
        table.insert(lines, string.format('  last build: %s (%s)', b.status, b.job))
      end
    end
  end
  if #lines == 0 then
    table.insert(lines, 'no working case')
  end
  return lines
end

--- :PlaybookStatus — asks the server, shows the answer.
function M.show_status()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client then
    return
  end
  client:request('playbook/status', vim.NIL, function(err, status)
    if err then
      vim.notify('Playbook: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    M.status[client.id] = status
    local uri = vim.bo[bufnr].filetype == 'yaml.playbook' and vim.uri_from_bufnr(bufnr) or nil
    local lines = M.status_lines(status, uri)
    if uri and #lines == 1 and lines[1] == 'no working case' then
      lines = M.status_lines(status)
    end
    vim.notify(table.concat(lines, '\n'), vim.log.levels.INFO, { title = 'Playbook' })
  end, bufnr)
end

--- :PlaybookRecordMissing — records every missing answer of the current phase (in this case).
function M.record_missing()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = need_client(bufnr)
  if not client or vim.bo[bufnr].filetype ~= 'yaml.playbook' then
    vim.notify('Playbook: open a working case first', vim.log.levels.WARN)
    return
  end
  M.execute(client, RECORD_ALL_MISSING, { uri = vim.uri_from_bufnr(bufnr) }, bufnr)
end

--- Activity names offered by the "▶ Run" lenses of the loaded playbooks (for completion).
local function activity_names(arg_lead)
  local names, seen = {}, {}
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype == 'markdown.playbook' then
      for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
        local c = lens.command
        local name = c and c.command == RUN_ACTIVITY and c.arguments and c.arguments[1] and c.arguments[1].activity
        if name and not seen[name] and vim.startswith(name, arg_lead or '') then
          seen[name] = true
          table.insert(names, name)
        end
      end
    end
  end
  return names
end

local function on_attach(client, bufnr)
  if M.config.codelens then
    vim.lsp.codelens.refresh({ bufnr = bufnr })
    local group = vim.api.nvim_create_augroup('playbook_codelens_' .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        vim.lsp.codelens.refresh({ bufnr = bufnr })
      end,
    })
  end
  -- Replay what a build already running (started before this client) has logged.
  client:request('playbook/status', vim.NIL, function(err, status)
    if err or type(status) ~= 'table' then
      return
    end
    M.status[client.id] = status
    local running = {}
    for _, c in ipairs(status.cases or {}) do
      local b = c.lastBuild
      if b and b ~= vim.NIL and b.status == 'running' then
        table.insert(running, { job = b.job, uri = c.uri })
      end
    end
    if #running > 0 then
      log.replay(client.id, running)
    end
  end, bufnr)
  if M.config.lsp.on_attach then
    M.config.lsp.on_attach(client, bufnr)
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  log.config = vim.tbl_extend('force', log.config, M.config.log or {}, { notify = M.config.notify })
  if M.config.log == false then
    log.config.open = false
  end
  detect.register()

  local lsp = vim.tbl_deep_extend('force', {}, M.config.lsp or {})
  lsp.on_attach = nil
  vim.lsp.config(
    'playbook',
    vim.tbl_deep_extend('force', {
      cmd = server_cmd(),
      filetypes = { 'yaml.playbook', 'markdown.playbook' },
      root_dir = root_dir,
      before_init = function(params, config)
        params.initializationOptions = { trustedWorkspace = is_trusted(config.root_dir or vim.uv.cwd()) }
      end,
      -- The server asks for fresh lenses when a build changes their status; Neovim 0.11 does
      -- not handle that request by itself, so the plugin does.
      capabilities = { workspace = { codeLens = { refreshSupport = M.config.codelens and true or false } } },
      handlers = {
        ['workspace/codeLens/refresh'] = function(_, _, ctx)
          local client = vim.lsp.get_client_by_id(ctx.client_id)
          if client and M.config.codelens then
            for bufnr in pairs(client.attached_buffers) do
              if vim.api.nvim_buf_is_loaded(bufnr) then
                vim.lsp.codelens.refresh({ bufnr = bufnr })
              end
            end
          end
          return vim.NIL
        end,
        ['playbook/buildEvent'] = function(_, params, ctx)
          log.on_event(ctx.client_id, params)
        end,
        ['playbook/status'] = function(_, params, ctx)
          M.status[ctx.client_id] = M.merge_status(M.status[ctx.client_id], params)
          vim.api.nvim_exec_autocmds('User', { pattern = 'PlaybookStatus', data = params })
        end,
      },
      commands = {
        [RUN_BUILD] = lens_command(RUN_BUILD),
        [RUN_ACTIVITY] = lens_command(RUN_ACTIVITY),
        [STOP_BUILD] = lens_command(STOP_BUILD),
      },
      on_attach = on_attach,
    }, lsp)
  )
  vim.lsp.enable('playbook')

  local cmd = vim.api.nvim_create_user_command
  cmd('PlaybookBuild', function(a)
    M.build({ ['local'] = a.args == 'local', force = a.bang })
  end, { nargs = '?', bang = true, complete = function()
    return { 'local' }
  end, desc = "Run the current phase's build (! runs unchanged steps too; `local` stops before remote ones)" })
  cmd('PlaybookRun', function(a)
    M.run_activity(a.args, { force = a.bang })
  end, { nargs = 1, bang = true, complete = activity_names, desc = 'Run one Activity of the current phase' })
  cmd('PlaybookStop', M.stop, { desc = 'Stop the running build' })
  cmd('PlaybookStatus', M.show_status, { desc = 'Phase, answered/required, missing answers, last build' })
  cmd('PlaybookLog', function()
    log.open({ enter = true })
  end, { desc = 'Open the build log' })
  cmd('PlaybookRecordMissing', M.record_missing, { desc = 'Record every missing answer of the current phase' })
end

--- For statuslines: "Phase 1 · 37/40" for the current buffer's case (else the first case).
function M.statusline()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.client(bufnr)
  local status = client and M.status[client.id]
  if not status or not status.cases or #status.cases == 0 then
    return ''
  end
  local uri = vim.uri_from_bufnr(bufnr)
  local c = status.cases[1]
  for _, x in ipairs(status.cases) do
    if x.uri == uri then
      c = x
    end
  end
  local phase = (c.phase and c.phase ~= vim.NIL) and ('Phase ' .. c.phase) or 'Playbook'
  return string.format('%s · %d/%d', phase, c.answered, c.required)
end

return M
