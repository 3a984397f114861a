# Every job's state in one pass: one grep reads all small state files, and only jobs that have not
# written an exit status get a liveness check.
# Output lines: 'F <name>/<file>:<content>', 'A <name> <0|1>' (wrapper alive), 'S <name>' (start never
# completed), 'Q <name>' (waiting for a slot, in queue order).
[ -d "$root" ] || exit 0
cd "$root" || exit 0
set -- */meta.json
[ -e "$1" ] || exit 0
grep -H '' */meta.json */exit */started */ended */stopped */pid */queued */attempts 2> /dev/null | sed 's/^/F /'
# Queue positions, oldest ticket first.
ls .orch-queue 2> /dev/null | grep '^ticket-' | sed 's/^ticket-[0-9]*-/Q /'
for m in */meta.json; do
  d=${m%/meta.json}
  [ -f "$d/exit" ] && continue
  if alive "$d"; then echo "A $d 1"; else echo "A $d 0"; fi
  [ -f "$d/pid" ] || { [ -n "$(find "$d/meta.json" -mmin +2 2>/dev/null)" ] && echo "S $d"; }
done
