# L3 rollback. $1 name, $2 plan|apply. 'plan' prints what a reset to the job's starting commit
# would discard; 'apply' runs git reset --hard to it in the job's work tree.
# Output (plan): 'root <dir>', 'commit <sha>', then 'C <oneline>' per commit after it and
# 'U <status line>' per uncommitted change. Exit: 4 unknown job, 65 job unfinished, 69 no commit
# recorded (its --cwd was not in a git work tree), 70 git failed.
name=$1 action=$2
dir=$root/$name
[ -f "$dir/meta.json" ] || exit 4
finished "$dir" || exit 65
[ -s "$dir/git-commit" ] && [ -s "$dir/git-root" ] || exit 69
read -r commit < "$dir/git-commit"
read -r tree < "$dir/git-root"
command -v git > /dev/null 2>&1 && [ -d "$tree" ] || exit 70
if [ "$action" = apply ]; then
  git -C "$tree" reset --hard "$commit" || exit 70
  exit 0
fi
echo "root $tree"
echo "commit $commit"
git -C "$tree" log --format='C %h %s' "$commit..HEAD" 2> /dev/null
# Untracked files survive git reset --hard, so only tracked changes are listed as lost.
git -C "$tree" status --porcelain --untracked-files=no 2> /dev/null | sed 's/^/U /'
exit 0
