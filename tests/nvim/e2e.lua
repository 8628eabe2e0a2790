-- Headless Neovim (0.11) with the plugin in editors/neovim (`require('playbook').setup{}`)
-- against the real `playbook lsp`:
--   1. the demo case: filetype detection, no diagnostics; delete an answer, expect
--      `missing-answer`; run the "Record answer" quick fix through Neovim's own code-action and
--      workspace-edit machinery, expect the diagnostic gone;
--   2. fixtures/editors (a playbook with `sh run` Activities): `vim.lsp.buf.code_action` records
--      the missing answer, `:PlaybookBuild` runs the build, the log buffer fills in order, the
--      build succeeds (vim.notify), the case's code lens shows ✓, `:PlaybookStatus` reports.
--
-- Driven by tests/nvim/test_nvim.py:
--   PLAYBOOK_REPO=… PLAYBOOK_BIN=… E2E_WORKSPACE=… E2E_RESULT=… nvim --headless --clean -n -i NONE -c 'luafile e2e.lua'
-- Writes a JSON result to $E2E_RESULT; exits 0 (`qa!`) when every step passed, else `cquit 1`.
-- Every wait is `vim.wait` on a condition with a timeout, never a fixed sleep.

local TIMEOUT = tonumber(os.getenv('PLAYBOOK_E2E_TIMEOUT') or '30') * 1000
local bin = os.getenv('PLAYBOOK_BIN')
local root = os.getenv('E2E_WORKSPACE')
local result_path = os.getenv('E2E_RESULT')
local repo = os.getenv('PLAYBOOK_REPO')
local ITEM = 'country'

local result = { ok = false, nvim = tostring(vim.version()), steps = {} }

local function step(name, value)
  result.steps[name] = value == nil and vim.NIL or value
end

local function write_result()
  if not result_path then
    return
  end
  local f = assert(io.open(result_path, 'w'))
  f:write(vim.json.encode(result))
  f:close()
end

local function codes(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(out, d.code or vim.NIL)
  end
  return out
end

local function missing_for(bufnr, item)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == 'missing-answer' and d.message:find('`' .. item .. '`', 1, true) then
      table.insert(out, d)
    end
  end
  return out
end

local function main()
  assert(bin and root and result_path and repo, 'set PLAYBOOK_BIN, PLAYBOOK_REPO, E2E_WORKSPACE and E2E_RESULT')
  local case_path = root .. '/fixtures/demo/working_case.yaml'
  -- Every `playbook/status` notification and every vim.notify message, in arrival order.
  local statuses = {}
  local notes = {}
  local published = 0
  vim.notify = function(msg, level)
    table.insert(notes, { msg = msg, level = level })
  end
  vim.api.nvim_create_autocmd('User', {
    pattern = 'PlaybookStatus',
    callback = function(ev)
      table.insert(statuses, ev.data)
    end,
  })
  local default_publish = vim.lsp.handlers['textDocument/publishDiagnostics']
  vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, params, ctx)
    published = published + 1
    return default_publish(err, params, ctx)
  end

  -- The plugin, as a user's init.lua would load it.
  vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
  -- trusted = 'ask': the first build asks (answered yes here), then tells the running server.
  local asked = 0
  vim.fn.confirm = function()
    asked = asked + 1
    return 1
  end
  require('playbook').setup({ cmd = { bin, 'lsp' }, trusted = 'ask', log = { open = 'split' } })

  vim.cmd.edit(vim.fn.fnameescape(case_path))
  local bufnr = vim.api.nvim_get_current_buf()
  step('case_filetype', vim.bo[bufnr].filetype)
  assert(vim.bo[bufnr].filetype == 'yaml.playbook', 'the case was not detected: ' .. vim.bo[bufnr].filetype)
  local client_id
  assert(
    vim.wait(TIMEOUT, function()
      local c = vim.lsp.get_clients({ name = 'playbook', bufnr = bufnr })[1]
      client_id = c and c.id
      return c ~= nil and c.initialized
    end, 10),
    'the plugin did not start and attach the playbook client'
  )
  local client = assert(vim.lsp.get_client_by_id(client_id))
  assert(
    vim.wait(TIMEOUT, function()
      return client.initialized and vim.lsp.buf_is_attached(bufnr, client_id)
    end, 10),
    'the client did not initialise and attach'
  )
  step('offset_encoding', client.offset_encoding)

  -- Wait until every change sent so far (pending didChanges are flushed by the request) is
  -- analysed and its diagnostics published: ask for the generation, then wait for an idle
  -- `playbook/status` notification at least that new.
  local function wait_idle(what, buf)
    local response
    client:request('playbook/status', vim.NIL, function(err, res)
      response = { err = err, res = res }
    end, buf or bufnr)
    assert(vim.wait(TIMEOUT, function()
      return response ~= nil
    end, 10), what .. ': no playbook/status response')
    assert(not response.err, what .. ': playbook/status failed: ' .. vim.inspect(response.err))
    local generation = response.res.generation
    local idle = vim.wait(TIMEOUT, function()
      for i = #statuses, 1, -1 do
        local s = statuses[i]
        if s.busy == false and s.generation >= generation then
          return true
        end
      end
      return false
    end, 10)
    assert(idle, what .. ': server not idle (generation ' .. generation .. ')')
    return response.res
  end

  -- 1. Opened: analysed, nothing to report.
  wait_idle('open')
  step('published_on_open', published > 0)
  step('codes_on_open', codes(bufnr))

  -- 2. Delete the answer line: `missing-answer` for that item.
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local row
  for i, line in ipairs(lines) do
    if line:match('^  ' .. ITEM .. ':') then
      row = i - 1
      break
    end
  end
  assert(row, 'no `' .. ITEM .. ':` line in the case')
  vim.api.nvim_buf_set_lines(bufnr, row, row + 1, false, {})
  wait_idle('delete')
  local missing = missing_for(bufnr, ITEM)
  step('codes_after_delete', codes(bufnr))
  step('missing_after_delete', #missing)
  assert(#missing == 1, 'no missing-answer for `' .. ITEM .. '`: ' .. vim.inspect(codes(bufnr)))

  -- 3. Ask for code actions at the diagnostic, the way `vim.lsp.buf.code_action` does.
  local diagnostic = missing[1]
  local lsp_diagnostic = diagnostic.user_data and diagnostic.user_data.lsp
  assert(lsp_diagnostic, 'the diagnostic does not carry its LSP original')
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = lsp_diagnostic.range,
    context = { diagnostics = { lsp_diagnostic }, triggerKind = 1 },
  }
  local response = client:request_sync('textDocument/codeAction', params, TIMEOUT, bufnr)
  assert(response, 'textDocument/codeAction timed out')
  assert(not response.err, 'textDocument/codeAction failed: ' .. vim.inspect(response.err))
  local titles, action = {}, nil
  for _, a in ipairs(response.result or {}) do
    table.insert(titles, a.title)
    if a.title == 'Record answer for `' .. ITEM .. '`' then
      action = a
    end
  end
  step('code_action_titles', titles)
  assert(action, 'no "Record answer for `' .. ITEM .. '`" among ' .. vim.inspect(titles))
  if not action.edit and action.data ~= nil then
    local resolved = client:request_sync('codeAction/resolve', action, TIMEOUT, bufnr)
    assert(resolved and not resolved.err, 'codeAction/resolve failed: ' .. vim.inspect(resolved))
    action = resolved.result
  end
  assert(action.edit, 'the action carries no WorkspaceEdit')
  step('action_kind', action.kind)

  -- 4. Apply it with Neovim's own machinery; the buffer change goes to the server as didChange.
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  local recorded = false
  for _, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:match('^  ' .. ITEM .. ':') then
      recorded = true
    end
  end
  step('recorded_line', recorded)
  assert(recorded, 'the edit did not add a `' .. ITEM .. ':` line')
  wait_idle('apply')
  step('codes_after_fix', codes(bufnr))
  step('missing_after_fix', #missing_for(bufnr, ITEM))
  assert(#missing_for(bufnr, ITEM) == 0, 'missing-answer still reported after the fix')

  -- 5. A playbook with `sh run` Activities: its case misses `environment`.
  local build_case = root .. '/editors/working_case.yaml'
  vim.cmd.edit(vim.fn.fnameescape(root .. '/editors/playbook.md'))
  step('playbook_filetype', vim.bo.filetype)
  assert(vim.bo.filetype == 'markdown.playbook', 'the playbook was not detected: ' .. vim.bo.filetype)
  vim.cmd.edit(vim.fn.fnameescape(build_case))
  local case_buf = vim.api.nvim_get_current_buf()
  assert(vim.wait(TIMEOUT, function()
    return vim.lsp.buf_is_attached(case_buf, client.id)
  end, 10), 'the client did not attach to the second case')
  assert(vim.lsp.get_clients({ name = 'playbook' })[1].id == client.id, 'one workspace, one client')
  wait_idle('open build case', case_buf)
  assert(#missing_for(case_buf, 'environment') == 1, 'no missing-answer for `environment`: ' .. vim.inspect(codes(case_buf)))

  -- 6. The code action through Neovim's own UI function, filtered to the quick fix, applied.
  local row = vim.diagnostic.get(case_buf)[1].lnum
  vim.api.nvim_win_set_cursor(0, { row + 1, 0 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(a)
      return a.title == 'Record answer for `environment`'
    end,
  })
  assert(vim.wait(TIMEOUT, function()
    for _, line in ipairs(vim.api.nvim_buf_get_lines(case_buf, 0, -1, false)) do
      if line:match('^  environment: ') then
        return true
      end
    end
    return false
  end, 10), 'vim.lsp.buf.code_action did not record `environment`')
  vim.cmd.write()
  wait_idle('record environment', case_buf)
  step('build_case_codes_after_fix', codes(case_buf))
  assert(#missing_for(case_buf, 'environment') == 0, 'missing-answer for `environment` still reported')

  -- 7. :PlaybookBuild — the log buffer fills in order and the build succeeds. Two events are
  -- dropped on the way in, as if missed: the plugin must fetch them (playbook/buildEvents).
  local forward = client.handlers['playbook/buildEvent']
  local dropped = {}
  client.handlers['playbook/buildEvent'] = function(err, params, ctx)
    if params.id == 3 or params.id == 4 then
      table.insert(dropped, params.id)
      return
    end
    return forward(err, params, ctx)
  end
  vim.cmd('PlaybookBuild')
  local log = require('playbook.log')
  local function log_lines()
    if not log.bufnr or not vim.api.nvim_buf_is_valid(log.bufnr) then
      return {}
    end
    return vim.api.nvim_buf_get_lines(log.bufnr, 0, -1, false)
  end
  local done = vim.wait(6 * TIMEOUT, function()
    for _, line in ipairs(log_lines()) do
      if line:match('^▸ succeeded') or line:match('^▸ failed') then
        return true
      end
    end
    return false
  end, 20)
  local lines = log_lines()
  step('log_lines', lines)
  step('dropped_events', dropped)
  step('trust_asked', asked)
  assert(done, 'the build log never showed a summary: ' .. vim.inspect(lines))
  step('log_buffer_name', vim.api.nvim_buf_get_name(log.bufnr))
  local shown = false
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == log.bufnr then
      shown = true
    end
  end
  step('log_window', shown)
  step('log_filetype', vim.bo[log.bufnr].filetype)
  local messages = {}
  for _, n in ipairs(notes) do
    table.insert(messages, n.msg)
  end
  step('notifications', messages)

  -- 8. The case's code lens reports the build (the server's workspace/codeLens/refresh, which
  -- the plugin handles, brings it: nothing here asks for lenses); :PlaybookStatus reports.
  local lens_ok = vim.wait(TIMEOUT, function()
    for _, lens in ipairs(vim.lsp.codelens.get(case_buf)) do
      if lens.command and lens.command.title:find('last build ✓ succeeded', 1, true) then
        return true
      end
    end
    return false
  end, 20)
  local titles = {}
  for _, lens in ipairs(vim.lsp.codelens.get(case_buf)) do
    table.insert(titles, lens.command and lens.command.title or vim.NIL)
  end
  step('case_lenses', titles)
  assert(lens_ok, 'the case lens never showed the build ✓: ' .. vim.inspect(titles))
  vim.api.nvim_set_current_buf(case_buf)
  local before = #notes
  vim.cmd('PlaybookStatus')
  assert(vim.wait(TIMEOUT, function()
    return #notes > before
  end, 10), ':PlaybookStatus said nothing')
  step('status_message', notes[#notes].msg)

  -- 9. :PlaybookRun! one Activity (forced, so it runs although unchanged): a second job in the log.
  client.handlers['playbook/buildEvent'] = forward
  local jobs_before = 0
  for _, line in ipairs(log_lines()) do
    if line:match('^▸ succeeded') then
      jobs_before = jobs_before + 1
    end
  end
  vim.cmd('PlaybookRun! test')
  local ran = vim.wait(6 * TIMEOUT, function()
    local n = 0
    for _, line in ipairs(log_lines()) do
      if line:match('^▸ succeeded') then
        n = n + 1
      end
    end
    return n > jobs_before
  end, 20)
  local all = log_lines()
  step('run_activity_log', vim.list_slice(all, #lines + 1))
  assert(ran, ':PlaybookRun! test did not finish: ' .. vim.inspect(all))

  client:stop()
  vim.wait(TIMEOUT, function()
    return client:is_stopped()
  end, 10)
end

local ok, err = xpcall(main, debug.traceback)
result.ok = ok
if not ok then
  result.error = tostring(err)
end
write_result()
if ok then
  vim.cmd('qa!')
else
  io.stderr:write(tostring(err) .. '\n')
  vim.cmd('cquit 1')
end
