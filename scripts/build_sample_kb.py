"""Generate the PDF and DOCX articles of the Lumora Home sample knowledge base.

The Markdown and HTML articles in ``sample_kb/`` are written by hand. The
binary articles (3 PDF, 3 DOCX) are generated from the data in this file so
that their sources stay reviewable in version control.

Usage (from the repository root)::

    .venv/bin/python scripts/build_sample_kb.py

Requires ``reportlab`` and ``python-docx``. Output is deterministic: running
the script twice produces byte-identical files.

Article markup: each article is a title plus a list of blocks:

* ``("h2", "Section heading")``
* ``("p", "Paragraph text")``
* ``("ul", ["item", ...])`` - bulleted list
* ``("ol", ["step", ...])`` - numbered list

Inside text, ``**bold**`` marks bold spans.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KB_DIR = REPO_ROOT / "sample_kb"

AUTHOR = "Lumora Home Support"
FIXED_DATE = _dt.datetime(2024, 6, 1, 9, 0, 0)

# ---------------------------------------------------------------------------
# Article sources
# ---------------------------------------------------------------------------

ARTICLES: list[dict] = [
    # ------------------------------------------------------------------ DOCX
    {
        "path": "accounts/delete-your-account.docx",
        "title": "Delete Your Lumora Home Account",
        "blocks": [
            (
                "p",
                "Deleting your Lumora Home account is permanent. It removes your homes, "
                "devices, automations, camera clips and household members. If you only want "
                "to stop paying, cancel your subscription or downgrade to the free Basic plan "
                "instead: your account and devices keep working.",
            ),
            ("h2", "Before you delete"),
            (
                "ul",
                [
                    "**Cancel any paid plan.** The **Delete account** button is unavailable while a "
                    "Plus or Pro subscription is active. Go to **Settings > Subscription > Cancel "
                    "subscription** first.",
                    "**Finish open orders and returns.** You can't delete your account while an "
                    "order is Processing or Shipped, or while a return is in progress.",
                    "**Download what you want to keep.** Use **Settings > Privacy > Download my "
                    "data** to get your camera clips, automation history and account details.",
                    "**Transfer shared homes.** If other household members use your home, go to "
                    "**Settings > Household > Transfer ownership** and choose a new Owner. "
                    "Otherwise they lose access when your account is deleted.",
                    "**Use your store credit.** Unused Lumora store credit and gift card balances "
                    "are lost when the account is deleted.",
                ],
            ),
            ("h2", "How to delete your account"),
            (
                "ol",
                [
                    "In the Lumora app or at my.lumorahome.com, go to **Settings > Account > "
                    "Delete account**.",
                    "Read the summary of what will be deleted and tap **Continue**.",
                    "Enter your password and, if two-factor authentication is on, your 6-digit code.",
                    "Type **DELETE** in capital letters and tap **Delete my account**.",
                    "We send a confirmation email to the address on your account.",
                ],
            ),
            ("h2", "The 14-day grace period"),
            (
                "p",
                "Your account is deactivated straight away, but it is not erased for "
                "**14 days**. During that time you can change your mind: sign in and tap "
                "**Restore my account**. Everything comes back as it was, except camera clips "
                "that passed their normal history limit in the meantime.",
            ),
            (
                "p",
                "After 14 days, deletion can't be undone. Your personal data, clips, "
                "Familiar Faces data and device history are erased from our systems within "
                "**30 days**.",
            ),
            ("h2", "What we keep and what happens to your devices"),
            (
                "ul",
                [
                    "Order records and invoices are kept for **7 years**, because tax law requires "
                    "it. They are not linked to any active account.",
                    "Your devices are released from your account automatically, so they can be set "
                    "up by someone else after a factory reset.",
                    "A Lumora Lock keeps its physical key and existing keypad codes until it is "
                    "factory reset, so reset it before you sell or move out.",
                    "You can create a new account with the same email address after the grace "
                    "period, but no data can be recovered and the Plus free trial is not available "
                    "again.",
                ],
            ),
        ],
    },
    {
        "path": "refunds/damaged-or-defective-items.docx",
        "title": "Damaged, Defective or Wrong Items",
        "blocks": [
            (
                "p",
                "Sorry your order didn't arrive as expected. If a device arrived broken, "
                "doesn't work out of the box, or isn't what you ordered, we'll replace or "
                "refund it at no cost to you, including shipping.",
            ),
            ("h2", "Time limits for reporting a problem"),
            (
                "ul",
                [
                    "**Damaged in transit** (cracked casing, crushed box, broken glass): report "
                    "within **7 days** of delivery.",
                    "**Wrong or missing item:** report within **7 days** of delivery.",
                    "**Defective on arrival** (won't power on, fails setup, or stops working): "
                    "report within **30 days** of delivery. This counts as a faulty return, with "
                    "no restocking fee and free return shipping.",
                    "**After 30 days:** faults are handled as a warranty claim (see below).",
                ],
            ),
            ("h2", "How to report a damaged or defective item"),
            (
                "ol",
                [
                    "Go to **Orders** in the Lumora app or at my.lumorahome.com and select the order.",
                    "Tap **Report a problem** and choose **Arrived damaged**, **Wrong item** or "
                    "**Doesn't work**.",
                    "Upload up to 5 photos: the damaged item, the outer shipping box and the "
                    "shipping label. For a device that doesn't work, add its serial number.",
                    "Choose **Replacement** or **Refund** and tap **Submit**.",
                ],
            ),
            (
                "p",
                "You receive a case number starting with **DMG-**. We review every case "
                "within **1 business day**. Please keep the item and all packaging until "
                "your case is closed, because the carrier may ask to inspect them.",
            ),
            ("h2", "Replacement or refund"),
            (
                "ul",
                [
                    "**Replacement:** shipped free by Express within **2 business days** of approval. "
                    "If the item is out of stock, we refund you instead.",
                    "**Refund:** the full item price plus the original shipping cost, back to your "
                    "original payment method.",
                    "**Returning the damaged item:** we email a prepaid label; send the item back "
                    "within **14 days**. For items under **$30**, such as a single Lumora Bulb, we "
                    "don't need it back; please recycle it responsibly.",
                    "**Wrong item:** we ship the correct item as soon as your case is approved, "
                    "without waiting for the wrong one to come back.",
                ],
            ),
            ("h2", "Warranty claims after 30 days"),
            (
                "p",
                "All Lumora devices bought from Lumora come with a **2-year limited "
                "warranty**, extended to **3 years** for Pro subscribers. To make a claim, go "
                "to **Help > Warranty claim** in the app and enter the device's serial number. "
                "We repair or replace the device; warranty claims are not refunded. The "
                "warranty doesn't cover accidental damage, water damage to indoor devices, "
                "or batteries.",
            ),
        ],
    },
    {
        "path": "security/if-your-account-was-hacked.docx",
        "title": "What to Do If Your Account Was Hacked",
        "blocks": [
            (
                "p",
                "If you think someone else has accessed your Lumora Home account, act quickly: "
                "your account can unlock your door and show your camera feeds. Follow the "
                "steps below in order.",
            ),
            ("h2", "Signs your account may be compromised"),
            (
                "ul",
                [
                    "A **New sign-in** email for a device or location you don't recognise",
                    "Your password or email address was changed without your knowledge",
                    "Household members, Lumora Lock access codes or unlock events you don't recognise",
                    "Orders or payment methods you didn't add",
                    "Camera privacy settings, automations or schedules changed",
                ],
            ),
            ("h2", "If you can still sign in"),
            (
                "ol",
                [
                    "Change your password under **Settings > Security > Change password**. Use a "
                    "new password you haven't used anywhere else.",
                    "Go to **Settings > Security > Active sessions** and tap **Sign out of all "
                    "devices**.",
                    "Turn on two-factor authentication, or generate new backup codes if it's already on.",
                    "Under **Settings > Household**, remove anyone you don't recognise.",
                    "For each Lumora Lock, open **Lock settings > Access codes**, delete unknown "
                    "codes and check the **Activity history**. Give household members new codes.",
                    "Check **Orders** and **Settings > Billing > Payment methods**. Cancel unknown "
                    "orders while they are still Processing and remove unknown cards.",
                    "Change the password of your email account too; attackers often get in that way.",
                ],
            ),
            ("h2", "If you can't sign in"),
            (
                "ul",
                [
                    "**Your email was changed:** use the **Undo this change** link in the notice we "
                    "sent to your old address. It works for 7 days and also signs out every session.",
                    "**Otherwise:** fill in the account recovery form at **lumorahome.com/recover**. "
                    "Have the serial number of one of your devices and the last 4 digits of the "
                    "card on file (or your PayPal email) ready.",
                ],
            ),
            (
                "p",
                "Our security team replies within **24 hours**. While we check your "
                "identity, we place the account on **Security hold**: every session is "
                "signed out, remote unlock is disabled and no orders can be placed.",
            ),
            ("h2", "Secure your front door right away"),
            (
                "p",
                "If you're worried someone could unlock your door, put the Lumora Lock into "
                "**Lockdown mode**: press and hold the lock button on the inside part of the "
                "lock for **10 seconds** until it beeps twice. All keypad codes and remote "
                "unlock are disabled and only the physical key works. Hold the button for "
                "10 seconds again to end Lockdown mode. For urgent help, call "
                "**+1 (800) 555-0142** and choose option 1; the security line is open 24/7.",
            ),
            ("h2", "Unauthorised orders"),
            (
                "p",
                "Orders placed by someone else are refunded in full if you report them within "
                "**60 days**. If they haven't been delivered yet, we stop the shipment. When "
                "your account is secure again, we email you a summary of the changes made "
                "during the incident.",
            ),
        ],
    },
    # ------------------------------------------------------------------- PDF
    {
        "path": "billing/vat-and-sales-tax.pdf",
        "title": "VAT, Sales Tax and Other Taxes",
        "blocks": [
            (
                "p",
                "The taxes on your Lumora order or subscription depend on where you live. "
                "The tax amount is always shown at checkout before you pay, and on every "
                "invoice.",
            ),
            ("h2", "United States: sales tax"),
            (
                "ul",
                [
                    "**Shop orders:** sales tax is calculated from your **shipping address** "
                    "(state, county and city rates).",
                    "**Subscriptions:** sales tax is based on your **billing address**. Some states "
                    "don't tax digital subscriptions, so you may see $0.00 tax on Plus or Pro.",
                    "Prices on the US store never include tax.",
                ],
            ),
            ("h2", "UK and European Union: VAT"),
            (
                "p",
                "Prices in the UK and EU stores **include VAT**. The rate depends on the "
                "country of your delivery address (shop orders) or billing address "
                "(subscriptions), for example:",
            ),
            (
                "ul",
                [
                    "United Kingdom: 20%",
                    "Germany: 19%",
                    "France: 20%",
                    "Netherlands: 21%",
                    "Ireland: 23%",
                ],
            ),
            (
                "p",
                "If the VAT rate in your country changes, the new rate applies from your next "
                "payment. The price you pay for a subscription may change as a result.",
            ),
            ("h2", "Business customers and VAT numbers"),
            (
                "ol",
                [
                    "Go to **Settings > Billing > Billing details**.",
                    "Enter your company name and VAT number and tap **Validate**. EU numbers are "
                    "checked with VIES and UK numbers with HMRC.",
                    "Once validated, future subscription invoices are issued without VAT under the "
                    "**reverse charge** rule.",
                    "For shop orders, enter the VAT number at checkout. Deliveries within the "
                    "Netherlands are always charged Dutch VAT, because they ship from our Rotterdam "
                    "warehouse.",
                ],
            ),
            (
                "p",
                "VAT already charged on past invoices cannot be refunded after you add a VAT "
                "number.",
            ),
            ("h2", "Other countries"),
            (
                "ul",
                [
                    "**Canada:** GST/HST (and QST in Quebec) is added to subscriptions. Taxes on "
                    "shop orders are collected by the carrier on import.",
                    "**Australia and New Zealand:** GST of 10% (Australia) or 15% (New Zealand) is "
                    "added to subscriptions.",
                    "**Norway and Switzerland:** VAT of 25% (Norway) or 8.1% (Switzerland) is "
                    "added to subscriptions.",
                ],
            ),
            (
                "p",
                'For import duties on devices shipped outside the US, see "International '
                'shipping and customs".',
            ),
            ("h2", "Tax-exempt organisations (US)"),
            (
                "p",
                "Schools, charities and government bodies can email a valid exemption "
                "certificate to **tax@lumorahome.com**. We review it within **3 business "
                "days**. Once approved, we also refund tax on orders placed in the **30 days** "
                "before approval.",
            ),
        ],
    },
    {
        "path": "shipping/lost-or-late-parcels.pdf",
        "title": "Lost, Late or Missing Parcels",
        "blocks": [
            (
                "p",
                "Most Lumora orders arrive on time, but carriers sometimes lose or delay "
                "parcels. Here's when to contact us and how we put it right.",
            ),
            ("h2", "When is a parcel officially late?"),
            (
                "ul",
                [
                    "**US orders:** not delivered **5 business days** after the estimated delivery "
                    "date shown in **Orders**.",
                    "**International orders:** not delivered **10 business days** after the "
                    "estimated delivery date. Customs checks can add several days.",
                ],
            ),
            (
                "p",
                "Before that point, the parcel is usually still moving, even if tracking "
                "hasn't updated. If it is officially late, report it as described below.",
            ),
            ("h2", 'Tracking says "Delivered" but you don\'t have it'),
            (
                "ol",
                [
                    "Open **Orders > Track package** and check the delivery photo and notes, if "
                    "the carrier left any.",
                    "Look around your property, in your mailbox, with neighbours and at your "
                    "building's mailroom or reception.",
                    "Wait **48 hours**. Carriers sometimes mark parcels as delivered shortly before "
                    "they actually arrive.",
                    'Still missing? Report it within **14 days** of the "Delivered" status.',
                ],
            ),
            ("h2", "How to report a lost or late parcel"),
            (
                "ol",
                [
                    "Go to **Orders** and select the order.",
                    "Tap **Report a problem > Package not received**.",
                    "Confirm your delivery address and answer a few questions about where you have "
                    "looked.",
                    "Tap **Submit claim**. You receive a claim number starting with **CLM-**.",
                ],
            ),
            (
                "p",
                "We open an investigation with the carrier, which takes up to **5 business "
                "days**. We email you as soon as it's finished.",
            ),
            ("h2", "How we resolve it"),
            (
                "ul",
                [
                    "**Replacement:** we send the same items free by Express shipping.",
                    "**Refund:** if you prefer, or if the item is out of stock, we refund the full "
                    "order amount including shipping to your original payment method.",
                    "If the original parcel turns up later, please refuse it or return it with the "
                    "free label we send you.",
                ],
            ),
            ("h2", "Limits"),
            (
                "ul",
                [
                    "Orders over **$500** are shipped with signature required. If tracking shows a "
                    "signature, we may ask you to sign a short statement before we replace the order.",
                    "After **2** missing-parcel claims in 12 months, future orders to that address "
                    "require a signature.",
                    "Parcels returned to us because of an incorrect address are refunded minus the "
                    "original shipping cost; they are not treated as lost.",
                ],
            ),
        ],
    },
    {
        "path": "troubleshooting/thermostat-error-codes.pdf",
        "title": "Lumora Thermostat Error Codes",
        "blocks": [
            (
                "p",
                "When the Lumora Thermostat detects a problem, the display shows a code "
                "starting with **E-** and the ring around the display turns red. The app also "
                "sends an alert. To see the current and past codes, go to **Thermostat "
                "settings > Diagnostics**.",
            ),
            (
                "p",
                "**Safety first:** always switch off power to your heating and cooling system "
                "at the circuit breaker before removing the Thermostat from its wall plate or "
                "touching any wires.",
            ),
            ("h2", "Power and wiring codes"),
            (
                "ul",
                [
                    "**E-101 No power from C wire:** the Thermostat needs a 24 V common (C) wire. "
                    "Check that the C wire is firmly in the C terminal at the Thermostat and at "
                    "your furnace. If you have no C wire, install the Lumora Power Adapter ($24.99). "
                    "The Thermostat runs on its internal battery for up to **2 hours** and then "
                    "switches off.",
                    "**E-106 Wiring mismatch:** the wires detected don't match the equipment chosen "
                    "in the app, for example an O/B wire for a heat pump. Run **Thermostat settings "
                    "> Equipment > Wiring check** and correct the setup.",
                ],
            ),
            ("h2", "Heating and cooling codes"),
            (
                "ul",
                [
                    "**E-103 System not responding:** the Thermostat asked for heating or cooling "
                    "but the temperature didn't change by at least 1 degree F (0.5 degree C) within "
                    "**30 minutes**. Check the breaker for your furnace or air conditioner, make "
                    "sure the furnace door is closed (it has a safety switch) and replace a dirty "
                    "air filter.",
                    "**E-107 Short-cycle protection:** the system was switched on and off more than "
                    "6 times in an hour. The Thermostat enforces a **5-minute** rest and shows "
                    "**Wait**. This is normal and clears by itself; if it happens often, have your "
                    "system checked by an HVAC technician.",
                    "**E-108 Temperature out of range:** the room is below 40 degrees F (4 degrees C) "
                    "or above 104 degrees F (40 degrees C). Freeze protection turns the heating on "
                    "automatically, even if the Thermostat is set to Off.",
                ],
            ),
            ("h2", "Sensor and connection codes"),
            (
                "ul",
                [
                    "**E-102 Temperature sensor failure:** restart the Thermostat. If the code "
                    "comes back, the internal sensor is faulty; make a warranty claim in the app "
                    "under **Help > Warranty claim**.",
                    "**E-104 Lost connection to the Lumora Hub:** your schedule keeps running, but "
                    "you can't control the Thermostat from the app. Check that the Hub's light ring "
                    "is solid white and that the Hub is within **10 metres** of the Thermostat.",
                    "**E-105 Room sensor battery low:** replace the **CR2032** coin battery in the "
                    "Lumora Room Sensor by twisting off its back cover.",
                ],
            ),
            ("h2", "Restart or reset the Thermostat"),
            (
                "ol",
                [
                    "**Restart:** press and hold the display ring for **10 seconds** until the "
                    "screen goes dark, then release. Your settings are kept.",
                    "**Factory reset:** go to **Thermostat settings > Advanced > Factory reset**. "
                    "This erases schedules, wiring setup and the Hub connection, so you'll need to "
                    "set the Thermostat up again.",
                ],
            ),
        ],
    },
]


# ---------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------

_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")


def _split_bold(text: str) -> list[tuple[str, bool]]:
    """Split ``text`` into (segment, is_bold) pieces using ``**bold**`` markup."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    for match in _BOLD_RE.finditer(text):
        if match.start() > pos:
            parts.append((text[pos : match.start()], False))
        parts.append((match.group(1), True))
        pos = match.end()
    if pos < len(text):
        parts.append((text[pos:], False))
    return parts


def _to_reportlab_markup(text: str) -> str:
    return "".join(
        f"<b>{html.escape(seg, quote=False)}</b>" if bold else html.escape(seg, quote=False)
        for seg, bold in _split_bold(text)
    )


def build_pdf(article: dict, out_path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "LumoraBody",
        parent=base["BodyText"],
        fontName="Helvetica",
        fontSize=10.5,
        leading=14,
        spaceAfter=6,
        alignment=TA_LEFT,
    )
    title = ParagraphStyle(
        "LumoraTitle",
        parent=base["Title"],
        fontName="Helvetica-Bold",
        fontSize=20,
        leading=24,
        spaceAfter=12,
        alignment=TA_LEFT,
        textColor=colors.HexColor("#1d3557"),
    )
    h2 = ParagraphStyle(
        "LumoraH2",
        parent=base["Heading2"],
        fontName="Helvetica-Bold",
        fontSize=14,
        leading=18,
        spaceBefore=10,
        spaceAfter=6,
        keepWithNext=1,
        textColor=colors.HexColor("#1d3557"),
    )
    list_item = ParagraphStyle(
        "LumoraListItem", parent=body, leftIndent=20, firstLineIndent=-12, spaceAfter=3
    )

    story = [Paragraph(html.escape(article["title"]), title)]
    for kind, content in article["blocks"]:
        if kind == "h2":
            story.append(Paragraph(html.escape(content), h2))
        elif kind == "p":
            story.append(Paragraph(_to_reportlab_markup(content), body))
        elif kind in ("ul", "ol"):
            # Bullets/numbers are part of the paragraph text (with a hanging indent)
            # rather than separately drawn glyphs, so text extraction keeps each
            # marker next to its item.
            for number, item in enumerate(content, start=1):
                marker = "-" if kind == "ul" else f"{number}."
                story.append(
                    Paragraph(f"{marker}&nbsp;&nbsp;{_to_reportlab_markup(item)}", list_item)
                )
            story.append(Spacer(1, 4))
        else:
            raise ValueError(f"unknown block type {kind!r} in {article['path']}")

    def _footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(inch, 0.6 * inch, f"Lumora Home Help Centre  |  Page {doc.page}")
        canvas.restoreState()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(out_path),
        pagesize=LETTER,
        leftMargin=inch,
        rightMargin=inch,
        topMargin=inch,
        bottomMargin=inch,
        title=article["title"],
        author=AUTHOR,
        subject="Lumora Home Help Centre",
        creator="scripts/build_sample_kb.py",
        invariant=1,
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)


def _add_runs(paragraph, text: str) -> None:
    for seg, bold in _split_bold(text):
        run = paragraph.add_run(seg)
        if bold:
            run.bold = True


def build_docx(article: dict, out_path: Path) -> None:
    from docx import Document

    document = Document()
    props = document.core_properties
    props.title = article["title"]
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.subject = "Lumora Home Help Centre"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.revision = 1

    document.add_heading(article["title"], level=1)
    for kind, content in article["blocks"]:
        if kind == "h2":
            document.add_heading(content, level=2)
        elif kind == "p":
            _add_runs(document.add_paragraph(), content)
        elif kind in ("ul", "ol"):
            style = "List Bullet" if kind == "ul" else "List Number"
            for item in content:
                _add_runs(document.add_paragraph(style=style), item)
        else:
            raise ValueError(f"unknown block type {kind!r} in {article['path']}")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(out_path))


def _fix_zip_timestamps(path: Path) -> None:
    """Rewrite a DOCX (zip) with fixed member timestamps for reproducible output."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    stamp = FIXED_DATE.timetuple()[:6]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info, data in members:
            new_info = zipfile.ZipInfo(info.filename, date_time=stamp)
            new_info.compress_type = zipfile.ZIP_DEFLATED
            new_info.external_attr = 0o644 << 16
            zout.writestr(new_info, data)


def main(argv: list[str] | None = None) -> int:
    built = []
    for article in ARTICLES:
        out_path = KB_DIR / article["path"]
        if out_path.suffix == ".pdf":
            build_pdf(article, out_path)
        elif out_path.suffix == ".docx":
            build_docx(article, out_path)
            _fix_zip_timestamps(out_path)
        else:
            raise ValueError(f"unsupported output type: {article['path']}")
        built.append(out_path)
    for path in built:
        print(f"wrote {path.relative_to(REPO_ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
