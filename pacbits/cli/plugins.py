"""``pacbits plugins``: every registered component, model and data set, and the plugins that were skipped."""
from ._common import add_json, print_json


def register(sub) -> None:
    p = sub.add_parser("plugins", help="list registered pruners, quantizers, coders, codecs, models and data sets, "
                                       "and skipped plugins")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also each component's distribution and version, and its parameters with their defaults")
    add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pacbits.core import default_registry

    reg = default_registry()
    rows = reg.listing(verbose=args.verbose)
    problems = [p.to_dict() for p in reg.problems]
    if args.json:
        print_json({"components": rows, "problems": problems})
        return 0
    for r in rows:
        line = f"{r['kind']:<10} {r['id']:<28} {r['package']}"
        if args.verbose:
            params = ", ".join(f"{k}={v!r}" for k, v in r["parameters"].items())
            line = f"{line:<60} {r['distribution']}\n{'':<11}{params or '(no parameters)'}"
        print(line)
    for p in problems:
        print(f"{p['status']:<10} {p['plugin']:<28} {p['distribution'] or '?'}: {p['error']}")
    return 0
