#!/bin/sh
#PBS EXTRA 'quoted' line
# netpool workers: 3 worker(s), chosen by ${PBS_ARRAY_INDEX:-$PBS_ARRAYID}
# written by netpool; runs under any POSIX sh (no arrays)
cd '/shared/run '"'"'A'"'"' $HOME `x`' || exit 1
NETPOOL_JOB_END=$(( $(date +%s) + 5400 )); export NETPOOL_JOB_END
module load python/3.11
conda activate 'my env'
case "${PBS_ARRAY_INDEX:-$PBS_ARRAYID}" in
  1) exec '/opt/o'"'"'brien'"'"'s env/bin/python3' -X dev -m netpool.worker 10.0.0.5:40123 --id 0 --authkey-file '/shared/run '"'"'A'"'"' $HOME `x`/.netpool/authkey' >'/shared/run '"'"'A'"'"' $HOME `x`/worker0.output' 2>&1 ;;
  2) exec '/opt/o'"'"'brien'"'"'s env/bin/python3' -X dev -m netpool.worker 10.0.0.5:40123 --id 1 --authkey-file '/shared/run '"'"'A'"'"' $HOME `x`/.netpool/authkey' >'/shared/run '"'"'A'"'"' $HOME `x`/worker1.output' 2>&1 ;;
  3) exec '/opt/o'"'"'brien'"'"'s env/bin/python3' -X dev -m netpool.worker 10.0.0.5:40123 --id 2 --authkey-file '/shared/run '"'"'A'"'"' $HOME `x`/.netpool/authkey' >'/shared/run '"'"'A'"'"' $HOME `x`/worker2.output' 2>&1 ;;
  *) echo "netpool: no worker for index '${PBS_ARRAY_INDEX:-$PBS_ARRAYID}'" >&2; exit 2 ;;
esac
