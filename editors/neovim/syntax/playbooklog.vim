" The build log buffer of the playbook plugin (playbook://build-log).
if exists('b:current_syntax')
  finish
endif
syntax match playbooklogDone    /^✓ .*$/
syntax match playbooklogFail    /^✗ .*$/
syntax match playbooklogSkip    /^○ .*$/
syntax match playbooklogHeading /^▸ .*$/
syntax match playbooklogStep    /^→ .*$/
syntax match playbooklogLine    /^  · /
syntax match playbooklogError   /^! .*$/
highlight default link playbooklogDone    DiagnosticOk
highlight default link playbooklogFail    DiagnosticError
highlight default link playbooklogSkip    Comment
highlight default link playbooklogHeading Title
highlight default link playbooklogStep    Function
highlight default link playbooklogLine    NonText
highlight default link playbooklogError   DiagnosticWarn
let b:current_syntax = 'playbooklog'
