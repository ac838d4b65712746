#!/bin/sh
# Start the retriever on $TOOLGYM_INDEX_DIR. When that folder holds no index yet and
# $TOOLGYM_CORPUS names a corpus file, build the index first (once; the folder is a volume).
set -eu
index=${TOOLGYM_INDEX_DIR:?set TOOLGYM_INDEX_DIR}
if [ -z "$(ls -A "$index" 2>/dev/null)" ]; then
    if [ -n "${TOOLGYM_CORPUS:-}" ]; then
        echo "toolgym-retriever: building $index from $TOOLGYM_CORPUS"
        toolgym index build "$TOOLGYM_CORPUS" "$index"
    else
        echo "toolgym-retriever: no index in $index; mount one or set TOOLGYM_CORPUS" >&2
        exit 2
    fi
fi
if [ "$#" -ge 3 ] && [ "$1 $2 $3" = "toolgym retriever serve" ]; then
    exec "$@" --index "$index"
fi
exec "$@"
