-- Which buffers are working cases and playbooks: the server's own rule (playbook-engine's
-- `looks_like`). A case is YAML named `working_case*` or with a top-level `playbook:` key; a
-- playbook is Markdown with a `## Phase <n>` heading, or the file a detected case names.
local M = {}

--- Playbooks named by the cases seen so far (normalised absolute paths).
M.named_playbooks = {}

local BOM = '\239\187\191'
local MAX_LINES = 5000

local function lines(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return {}
  end
  return vim.api.nvim_buf_get_lines(bufnr, 0, MAX_LINES, false)
end

local function strip_bom(line)
  if line:sub(1, 3) == BOM then
    return line:sub(4)
  end
  return line
end

--- The playbook a case names, as an absolute path (`playbook:` is relative to the case).
function M.playbook_of(case_path, case_lines)
  for _, raw in ipairs(case_lines) do
    local line = strip_bom(raw)
    if line:sub(1, 9) == 'playbook:' then
      local value = vim.trim(line:sub(10))
      local quote = value:sub(1, 1)
      if quote == '"' or quote == "'" then
        value = value:match('^' .. quote .. '(.-)' .. quote) or value:sub(2)
      else
        value = vim.trim((value:gsub('%s+#.*$', '')))
      end
      if value == '' then
        return nil
      end
      if value:sub(1, 1) ~= '/' then
        value = vim.fs.dirname(case_path) .. '/' .. value
      end
      return vim.fs.normalize(value)
    end
  end
  return nil
end

function M.is_case(path, bufnr)
  if not (path:match('%.ya?ml$') or path:match('%.YA?ML$')) then
    return false
  end
  local found = vim.fs.basename(path):lower():match('^working_case') ~= nil
  local buf_lines = lines(bufnr)
  if not found then
    for _, line in ipairs(buf_lines) do
      if strip_bom(line):sub(1, 9) == 'playbook:' then
        found = true
        break
      end
    end
  end
  if found then
    local absolute = vim.fs.normalize(vim.fn.fnamemodify(path, ':p'))
    local playbook = M.playbook_of(absolute, buf_lines)
    if playbook then
      M.named_playbooks[playbook] = true
    end
  end
  return found
end

function M.is_playbook(path, bufnr)
  local lower = path:lower()
  if not (lower:match('%.md$') or lower:match('%.markdown$')) then
    return false
  end
  if M.named_playbooks[vim.fs.normalize(vim.fn.fnamemodify(path, ':p'))] then
    return true
  end
  for _, line in ipairs(lines(bufnr)) do
    local t = strip_bom(line):match('^%s*(.*)$')
    if t:sub(1, 3) == '## ' and t:sub(4):match('^%s*[Pp][Hh][Aa][Ss][Ee] ') then
      return true
    end
  end
  return false
end

--- Registers the filetypes `yaml.playbook` (cases) and `markdown.playbook` (playbooks): YAML and
--- Markdown highlighting and ftplugins stay, and the language server attaches to these.
function M.register()
  local function case(path, bufnr)
    if M.is_case(path, bufnr) then
      return 'yaml.playbook'
    end
  end
  local function playbook(path, bufnr)
    if M.is_playbook(path, bufnr) then
      return 'markdown.playbook'
    end
  end
  vim.filetype.add({
    pattern = {
      ['.*%.[Yy][Aa]?[Mm][Ll]'] = { case, { priority = 10 } },
      ['.*%.[Mm][Dd]'] = { playbook, { priority = 10 } },
      ['.*%.[Mm][Aa][Rr][Kk][Dd][Oo][Ww][Nn]'] = { playbook, { priority = 10 } },
    },
  })
  -- Tree-sitter highlighting, where the parsers are installed, as for plain YAML and Markdown.
  pcall(vim.treesitter.language.register, 'yaml', 'yaml.playbook')
  pcall(vim.treesitter.language.register, 'markdown', 'markdown.playbook')
end

return M
