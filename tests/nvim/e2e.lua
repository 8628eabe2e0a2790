-- Headless Neovim (0.11) against the real `playbook lsp`: open the demo case, expect no
-- diagnostics; delete an answer, expect `missing-answer`; run the "Record answer" quick fix
-- through Neovim's own code-action and workspace-edit machinery, expect the diagnostic gone.
--
-- Driven by tests/nvim/test_nvim.py:
--   PLAYBOOK_BIN=… E2E_WORKSPACE=… E2E_RESULT=… nvim --headless --clean -n -i NONE -c 'luafile e2e.lua'
-- Writes a JSON result to $E2E_RESULT; exits 0 (`qa!`) when every step passed, else `cquit 1`.
-- Every wait is `vim.wait` on a condition with a timeout, never a fixed sleep.

local TIMEOUT = tonumber(os.getenv('PLAYBOOK_E2E_TIMEOUT') or '30') * 1000
local bin = os.getenv('PLAYBOOK_BIN')
local root = os.getenv('E2E_WORKSPACE')
local result_path = os.getenv('E2E_RESULT')
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
  assert(bin and root and result_path, 'set PLAYBOOK_BIN, E2E_WORKSPACE and E2E_RESULT')
  local case_path = root .. '/fixtures/demo/working_case.yaml'
  -- Every `playbook/status` notification, in arrival order.
  local statuses = {}
  local published = 0
  local default_publish = vim.lsp.handlers['textDocument/publishDiagnostics']

  vim.cmd.edit(vim.fn.fnameescape(case_path))
  local bufnr = vim.api.nvim_get_current_buf()

  local client_id = vim.lsp.start({
    name = 'playbook',
    cmd = { bin, 'lsp' },
    root_dir = root,
    handlers = {
      ['playbook/status'] = function(_, params)
        table.insert(statuses, params)
      end,
      ['textDocument/publishDiagnostics'] = function(err, params, ctx)
        published = published + 1
        return default_publish(err, params, ctx)
      end,
    },
  }, { bufnr = bufnr })
  assert(client_id, 'vim.lsp.start returned no client')
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
  local function wait_idle(what)
    local response
    client:request('playbook/status', vim.NIL, function(err, res)
      response = { err = err, res = res }
    end, bufnr)
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
