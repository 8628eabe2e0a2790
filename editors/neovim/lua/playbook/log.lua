-- The build log: every `playbook/buildEvent` rendered like `playbook build` prints it in a
-- terminal, appended to a scratch buffer (`playbook://build-log`) in id order. A gap in the ids
-- (or a client that attached while a build ran) is filled from `playbook/buildEvents`.
local M = {}

M.config = { open = 'split', height = 12, notify = true }

--- jobs[job] = { client_id, uri, last, done, status, pending = { events… }, fetching }
M.jobs = {}
M.bufnr = nil

local NAME = 'playbook://build-log'

--- One line of the log for one event.
function M.render(e)
  local activity = e.activity or ''
  local message = e.message or ''
  local secs = type(e.duration_ms) == 'number' and string.format(' %.1fs', e.duration_ms / 1000) or ''
  local kind = e.kind
  if kind == 'job_start' then
    return '▸ ' .. (message ~= '' and message or ('job ' .. tostring(e.job)))
  elseif kind == 'step_start' then
    return '→ ' .. activity
  elseif kind == 'log' or kind == 'progress' then
    return '  · ' .. message
  elseif kind == 'step_done' then
    return '✓ ' .. activity .. secs
  elseif kind == 'step_fail' then
    return '✗ ' .. activity .. secs .. (message ~= '' and (' — ' .. message) or '')
  elseif kind == 'step_skip' then
    return '○ ' .. activity .. ' — skipped' .. (message ~= '' and (', ' .. message) or '')
  elseif kind == 'summary' then
    return '▸ ' .. (message ~= '' and message or (e.status or 'done'))
  end
  return '  ' .. message
end

--- The log buffer, created on first use.
function M.buffer()
  if M.bufnr and vim.api.nvim_buf_is_valid(M.bufnr) then
    return M.bufnr
  end
  local existing = vim.fn.bufnr(NAME)
  local buf = existing > 0 and existing or vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(buf, NAME)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'playbooklog'
  M.bufnr = buf
  M.empty = true
  return buf
end

--- Shows the log in a window (reusing one that shows it); returns the window.
function M.open(opts)
  opts = opts or {}
  local buf = M.buffer()
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
  local how = opts.how or M.config.open or 'split'
  local current = vim.api.nvim_get_current_win()
  if how == 'vsplit' then
    vim.cmd('botright vsplit')
  elseif how == 'tab' then
    vim.cmd('tabnew')
  else
    vim.cmd('botright ' .. tostring(M.config.height or 12) .. 'split')
  end
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  vim.wo[win].number = false
  vim.wo[win].relativenumber = false
  vim.wo[win].wrap = false
  vim.wo[win].winfixheight = true
  vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
  if not opts.enter then
    vim.api.nvim_set_current_win(current)
  end
  return win
end

--- Appends lines, keeping windows that were at the end at the end (like `tail -f`).
local function append(lines)
  local buf = M.buffer()
  local count = vim.api.nvim_buf_line_count(buf)
  local follow = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_buf(win) == buf and vim.api.nvim_win_get_cursor(win)[1] >= count then
      table.insert(follow, win)
    end
  end
  vim.bo[buf].modifiable = true
  if M.empty then
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    M.empty = false
  else
    vim.api.nvim_buf_set_lines(buf, -1, -1, false, lines)
  end
  vim.bo[buf].modifiable = false
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(follow) do
    pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
  end
end

local function notify(msg, level)
  if M.config.notify then
    vim.notify(msg, level, { title = 'Playbook' })
  end
end

local function write(state, e)
  local lines = {}
  if e.kind == 'job_start' and not M.empty then
    table.insert(lines, '')
  end
  local text = M.render(e)
  local first = true
  for line in (text .. '\n'):gmatch('(.-)\r?\n') do
    table.insert(lines, first and line or ('    ' .. line))
    first = false
  end
  append(lines)
  state.last = e.id
  if e.kind == 'job_start' then
    notify('Playbook build started: ' .. (e.message or e.job), vim.log.levels.INFO)
  elseif e.kind == 'step_fail' then
    notify(M.render(e), vim.log.levels.ERROR)
  elseif e.kind == 'summary' then
    state.done = true
    state.status = e.status
    local level = e.status == 'succeeded' and vim.log.levels.INFO or vim.log.levels.WARN
    notify('Playbook build: ' .. (e.message or tostring(e.status)), level)
    vim.api.nvim_exec_autocmds('User', { pattern = 'PlaybookBuildDone', data = { job = e.job, status = e.status, uri = state.uri } })
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'PlaybookBuildEvent', data = e })
end

local function state_of(client_id, job, uri)
  local s = M.jobs[job]
  if not s then
    s = { client_id = client_id, job = job, uri = uri, last = 0, done = false, pending = {} }
    M.jobs[job] = s
  end
  s.client_id = client_id or s.client_id
  return s
end

local function flush(state)
  table.sort(state.pending, function(a, b)
    return a.id < b.id
  end)
  local rest = {}
  for _, e in ipairs(state.pending) do
    if e.id == state.last + 1 then
      write(state, e)
    elseif e.id > state.last then
      table.insert(rest, e)
    end
  end
  state.pending = rest
end

--- Fetches the events after `state.last` from the server, then writes what is pending.
local function fetch(state)
  if state.fetching then
    return
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  if not client then
    return
  end
  state.fetching = true
  client:request('playbook/buildEvents', { job = state.job, after = state.last, uri = state.uri }, function(err, events)
    state.fetching = false
    if err then
      append({ '! could not replay job ' .. state.job .. ': ' .. (err.message or vim.inspect(err)) })
    else
      if state.last == 0 and events and events[1] and events[1].kind ~= 'job_start' then
        append({ '▸ (replaying job ' .. state.job .. ' from event ' .. events[1].id .. ')' })
      end
      for _, e in ipairs(events or {}) do
        if e.id > state.last then
          e.uri = e.uri or state.uri
          write(state, e)
        end
      end
    end
    flush(state)
    -- Still a gap (events that were never recorded?): write what is there rather than wait.
    if #state.pending > 0 then
      state.last = state.pending[1].id - 1
      flush(state)
    end
  end)
end

--- A `playbook/buildEvent` notification.
function M.on_event(client_id, e)
  local state = state_of(client_id, e.job, e.uri)
  if e.id <= state.last then
    return
  end
  table.insert(state.pending, e)
  if state.fetching then
    return
  end
  if e.id == state.last + 1 then
    flush(state)
  else
    fetch(state)
  end
end

--- A build this client started: show the log per the configuration.
function M.started(client_id, job, uri)
  state_of(client_id, job, uri)
  if M.config.open then
    M.open()
  end
end

--- After a (re)connect: replay every job not seen to finish, and jobs the server says are running.
function M.replay(client_id, running)
  for _, r in ipairs(running or {}) do
    state_of(client_id, r.job, r.uri)
  end
  for _, state in pairs(M.jobs) do
    if not state.done then
      state.client_id = client_id
      fetch(state)
    end
  end
end

--- Jobs of a client that have not finished, newest last.
function M.running(client_id)
  local out = {}
  for _, state in pairs(M.jobs) do
    if not state.done and (client_id == nil or state.client_id == client_id) then
      table.insert(out, state)
    end
  end
  table.sort(out, function(a, b)
    return a.job < b.job
  end)
  return out
end

return M
