# shellcheck shell=sh disable=SC2154 # $root, $sock and job_* are set by job-lib.sh and prelude.sh, which controlScript sends first
# L3 rollback. $1 name, $2 plan|apply. 'plan' prints what a reset to the job's starting commit
# would discard; 'apply' runs git reset --hard to it in the job's work tree.
# Output (plan): 'root <dir>', 'commit <sha>', then 'C <oneline>' per commit after it and
# 'U <status line>' per uncommitted change. Exit: EX_UNKNOWN_JOB, EX_IN_USE (job unfinished),
# EX_NO_COMMIT (its --cwd was not in a git work tree), EX_GIT_FAILED.
name=$1 action=$2
dir=$root/$name
job_load "$name" || exit $?
job_finished || exit "$EX_IN_USE"
[ -s "$dir/git-commit" ] && [ -s "$dir/git-root" ] || exit "$EX_NO_COMMIT"
read -r commit < "$dir/git-commit"
read -r tree < "$dir/git-root"
command -v git > /dev/null 2>&1 && [ -d "$tree" ] || exit "$EX_GIT_FAILED"
if [ "$action" = apply ]; then
  git -C "$tree" reset --hard "$commit" || exit "$EX_GIT_FAILED"
  exit 0
fi
echo "root $tree"
echo "commit $commit"
git -C "$tree" log --format='C %h %s' "$commit..HEAD" 2> /dev/null
# Untracked files survive git reset --hard, so only tracked changes are listed as lost.
git -C "$tree" status --porcelain --untracked-files=no 2> /dev/null | sed 's/^/U /'
exit 0
