"""``pacbits plugins``: every registered component, model and data set."""
from ._common import add_json, print_json


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list registered pruners, quantizers, coders, codecs, models and data sets")
    add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pacbits.core import default_registry

    rows = default_registry().listing()
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['kind']:<10} {r['id']:<28} {r['package']}")
    return 0
