#!/bin/sh
# The images' Python for uv (make setup, make lock): prints the real path of the first candidate
# that is Python <version>; else prints one line naming the first candidate's problem and the fix.
#     sh scripts/find_python.sh <version> <candidate>...
version=$1
shift
problem=
for candidate in "$@"; do
    if found=$("$candidate" -c 'import sys; print("is Python %d.%d" % sys.version_info[:2])' 2>/dev/null); then
        :
    elif command -v "$candidate" >/dev/null; then
        found="does not run"
    else
        found="not found"
    fi
    if [ "$found" = "is Python $version" ]; then
        exec "$candidate" -c 'import sys; print(sys.executable)'
    fi
    [ -n "$problem" ] || problem="PYTHON=$candidate $found"
done
echo "error: $problem; install Python $version (with pyenv: pyenv local $version," \
    "after pyenv install $version if pyenv has none) or run 'make setup PYTHON=/path/to/python$version'" >&2
exit 1
