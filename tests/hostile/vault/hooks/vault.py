"""Hooks of tests/hostile/vault/charts/vault.yaml, each bug quoting someone's PIN."""


def set_pin(ctx, event):
    ctx.mine["pin"] = event.data["pin"]
    ctx.public["pins"] = sum(1 for who in ctx.private if ctx.private.view(who)["pin"])


def check_pins(ctx, event):
    pins = {who: ctx.private.view(who)["pin"] for who in ctx.private}
    raise ValueError(f"the PINs do not match: {pins}")


def tidy_pins(ctx, event):
    # PINs as numbers, which the private schema refuses, quoting the number
    for who in list(ctx.private):
        if who != ctx.caller.id:
            ctx.private[who]["pin"] = int(ctx.private.view(who)["pin"])


def break_resume(ctx, event):
    ctx.context["broken"] = True


def resume(ctx, event):
    if ctx.context["broken"]:
        raise RuntimeError(f"cannot resume: bob's PIN is {ctx.private.view('bob')['pin']}")
