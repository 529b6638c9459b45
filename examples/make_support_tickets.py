#!/usr/bin/env python3
"""Generate examples/support_tickets.csv -- sample data for Tuning Ladder.

Fictional company: "Nimbus Notes", a note-taking / sync app with Free, Plus and
Team plans (see examples/knowledge_base/ for the matching help-center docs).

Run:  python examples/make_support_tickets.py
Standard library only; seeded, so the output is byte-for-byte reproducible.

Columns: ticket_id, text, category, priority
Labels (category): billing, bug, account, feature_request
Priority: low, normal, high

Clean, unique rows generated: billing 120, bug 100, account 80,
feature_request 60 (= 360).  On top of / inside those, the following
DELIBERATE DATA-QUALITY PROBLEMS are planted (counts are exact and stable):

  * 3 exact duplicate rows   -- 3 extra rows that copy the text, category and
                                priority of 3 existing rows (new ticket_id).
  * 2 rows with empty `text` -- 2 extra rows (category billing and bug).
                                Note: both have text "", so a text-only
                                duplicate check sees them as equal; exclude
                                empty texts before duplicate checks.
  * 1 row with empty `category` -- 1 extra row (text is clearly billing).
  * 2 conflicting-label pairs  -- 4 extra rows: 2 texts, each present twice
                                with two different categories
                                (billing/account and bug/billing).
  * 4 rows with personal data -- replace the text of 4 generated rows:
                                2 with an e-mail address, 1 with a phone
                                number, 1 with an IBAN-like bank account.
  * 1 row with mojibake       -- replaces the text of 1 generated row
                                ("cafÃ©", "â€“").

Total rows = 360 + 3 + 2 + 1 + 4 = 370.  Resulting label counts: billing 125,
bug 102, account 81, feature_request 61, (empty) 1.
Apart from the planted rows, every text is unique (also after lower-casing
and stripping punctuation), ASCII-only, and free of e-mails/phone numbers.
"""
from __future__ import annotations

import csv
import random
import re
from collections import Counter
from pathlib import Path

SEED = 20240611
OUT = Path(__file__).resolve().parent / "support_tickets.csv"
TARGET = {"billing": 120, "bug": 100, "account": 80, "feature_request": 60}

# --------------------------------------------------------------------------
# Vocabulary (kept consistent with examples/knowledge_base/)
# --------------------------------------------------------------------------
PAID_PLAN_CHARGES = [  # (plan, amount, period wording)
    ("Plus", "$6", "monthly"), ("Plus", "$6", "monthly"), ("Plus", "$60", "annual"),
    ("Team", "$24", "monthly"), ("Team", "$36", "monthly"), ("Team", "$60", "monthly"),
    ("Team", "$240", "annual"), ("Team", "$600", "annual"), ("Team", "$1,200", "annual"),
]
BUGGY_FEATURES = [
    "Smart Search", "the Web Clipper", "Daily Notes", "Version History", "Reminders",
    "Backlinks", "Ink", "PDF Annotate", "Focus Mode", "the tag sidebar",
    "the Markdown editor", "the home screen widget", "the table editor",
    "the checklist block", "the image viewer",
]
DEVICES = [
    "iPhone 13", "iPhone 15", "iPad Air", "iPad Pro", "Pixel 7", "Pixel 8", "Galaxy S23",
    "Galaxy Tab S8", "OnePlus 11", "MacBook Air", "MacBook Pro", "Windows 11 laptop",
    "Surface Pro", "Chromebook", "Ubuntu 22.04 desktop", "work PC (Windows 10)",
]
ANDROID = ["Pixel 7", "Pixel 8", "Galaxy S23", "Galaxy Tab S8", "OnePlus 11"]
MOBILE = ["iPhone 13", "iPhone 15", "iPad Air", "Pixel 7", "Pixel 8", "Galaxy S23", "OnePlus 11"]
DESKTOP = ["MacBook Air", "MacBook Pro", "Windows 11 laptop", "Surface Pro", "Ubuntu 22.04 desktop"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge", "Brave"]
VERSIONS = ["4.2.1", "4.2.3", "4.3.0", "4.3.1", "4.3.2"]
SYNC_ERRORS = ["SYNC-409", "SYNC-503", "SYNC-409", "SYNC-503", "SYNC-500"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
NOTEBOOKS = ["Work", "Recipes", "Thesis", "Journal", "Meeting notes", "Project Apollo",
             "Reading list", "Client calls", "Lecture notes", "Travel", "Inbox", "Ideas"]
IDPS = ["Okta", "Azure AD", "Microsoft Entra ID", "Google Workspace", "OneLogin"]
APPS = ["Evernote", "OneNote", "Notion", "Obsidian", "Apple Notes", "Google Keep", "Bear"]
CARD_BRANDS = ["Visa", "Mastercard", "Amex", "debit card"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# --------------------------------------------------------------------------
# Shared openings / closings
# --------------------------------------------------------------------------
OPENINGS = [
    "", "", "", "", "", "", "Hi,", "Hi,", "Hello,", "Hello,", "Hey,", "Hey there,",
    "Hi Nimbus team,", "Hi support,", "Good morning,", "Good afternoon,",
    "Dear Nimbus Notes support,", "To whom it may concern,", "Hiya,", "Hi folks,",
    "Quick question.", "Hoping you can help.", "Hi there,", "Hello team,",
]
ANGRY_OPENINGS = ["Seriously?", "This is ridiculous.", "Not happy.", "Ugh.",
                  "Third time writing in about this.", "Come on, guys."]
CLOSINGS = [
    "", "", "", "", "Thanks!", "Thanks.", "Thanks in advance.", "Thank you.",
    "Appreciate it.", "Cheers.", "Any help appreciated.", "Let me know.",
    "Thanks for your help.", "Much appreciated!", "Thx", "Best regards.",
]
CAT_CLOSINGS = {  # must fit ANY ticket of the category
    "billing": ["Please advise.", "Can you help?", "Thanks for looking into it.",
                "Looking forward to your reply.", "Please get back to me soon."],
    "bug": ["Happy to send logs if that helps.", "Restarting did not help.",
            "I already reinstalled the app.", "Is this a known issue?",
            "Let me know if you need screenshots.", "Is there a workaround?",
            "I'm on the latest version as far as I can tell."],
    "account": ["Please advise.", "What are my options?", "Can you walk me through it?",
                "Thanks for the quick help.", "Not sure where else to ask."],
    "feature_request": ["Would happily pay more for this.", "Just a suggestion!",
                        "Keep up the good work.", "Love the app otherwise.",
                        "Is this on the roadmap?", "Would really make my day.",
                        "Thanks for listening."],
}

# --------------------------------------------------------------------------
# Category-specific issue sentences: (template, base priority, follow-ups)
# Follow-ups are specific to the issue; GENERIC_DETAILS fit any issue.
# --------------------------------------------------------------------------
REFUND = ["Please refund me as soon as possible.", "I'd like the extra charge refunded.",
          "My bank says the payment was approved.", "It shows up twice on my bank statement."]
INVOICE = ["This is for my small business.", "Our finance team needs it by Friday.",
           "I checked Settings > Billing and couldn't find it."]
LOCKED = ["I need access back today.", "I have a deadline so please hurry.",
          "My notes are really important for work.", "I don't have my recovery codes."]
ISSUES = {
    "billing": [
        ("I was charged {amount} twice for my {plan} subscription this month.", "high", REFUND),
        ("My card was billed {amount} on {month} 3rd and again on {month} 4th for the same {plan} plan.", "high", REFUND),
        ("I cancelled my {plan} plan last week but you still charged me {amount}.", "high",
         ["I have the cancellation confirmation email.", "Please refund me as soon as possible."]),
        ("I got charged {amount} for {plan} after my free trial even though I cancelled before it ended.", "high",
         ["I cancelled on day 12 of the trial.", "Please refund me as soon as possible."]),
        ("Can I get a refund for the {period} {plan} payment of {amount}? I bought it by mistake.", "normal",
         ["I haven't used any of the paid features.", "It was only two days ago."]),
        ("I renewed the {period} {plan} plan by accident yesterday and would like a refund please.", "normal",
         ["I meant to switch back to Free before the renewal.", "I haven't used any of the paid features."]),
        ("Please refund the {amount} charge from {month}, I haven't used the app since.", "normal",
         ["I forgot the subscription was still running.", "I know it's a bit late to ask."]),
        ("I need an invoice for the {amount} payment with my company name and VAT number on it.", "normal", INVOICE),
        ("Where can I download receipts for my {plan} subscription? Accounting needs them for {month}.", "low", INVOICE),
        ("The invoice for {month} shows the wrong billing address, can you reissue it?", "low",
         ["We moved offices in {month}.", "I already updated the address in Settings > Billing."]),
        ("How do I switch from monthly to annual billing on {plan}?", "low",
         ["I heard annual is cheaper.", "Will I lose the rest of this month?"]),
        ("I want to downgrade from Team to Plus at the end of my billing cycle, how does that work?", "normal",
         ["It's just me using it now.", "Will my shared notebooks be deleted?"]),
        ("I'd like to cancel my {plan} subscription, the price is too much for me right now.", "normal",
         ["Will I keep my notes after cancelling?", "Maybe I'll come back later."]),
        ("Payment keeps failing with PAY-402 when I try to renew {plan} with my {card}.", "high",
         ["The card works everywhere else.", "My bank says they didn't block anything."]),
        ("My {card} expired and I need to update the payment method before the renewal.", "normal",
         ["The renewal is on {month} 14.", "I can't find where to edit it."]),
        ("How do I change the card on file? The old {card} was lost.", "normal",
         ["I already froze the old card.", "The renewal is on {month} 14."]),
        ("Why did my bill go from $6 to {amount}? Nobody told me about a price change.", "normal",
         ["I never asked to upgrade.", "Last month it was fine."]),
        ("We added {n} seats to our Team workspace and the prorated charge looks way too high.", "normal",
         ["Can you explain how proration works?", "We added them mid-cycle."]),
        ("We removed {n} users from our Team plan but we're still being billed for them.", "high",
         ["They were removed in {month}.", "I'm the workspace owner."]),
        ("Is there a student discount for Plus? I have a university email.", "low",
         ["I'm a grad student on a tight budget.", "I'd pay annually if there's a discount."]),
        ("Do you offer a nonprofit discount on the Team plan?", "low",
         ["We're a registered charity with {n} volunteers.", "We'd need around {n} seats."]),
        ("The promo code from your newsletter isn't applying at checkout for {plan}.", "normal",
         ["It says the code is invalid.", "The newsletter said it's valid until the end of {month}."]),
        ("I subscribed through the App Store, how do I get a refund for the {amount} charge?", "normal",
         ["I didn't mean to subscribe.", "I tapped the wrong button on my iPhone."]),
        ("I paid through Google Play but the app still asks me to pay for {plan} again.", "high",
         ["Google Play shows the subscription as active.", "I don't want to pay twice."]),
        ("Can we pay for our Team plan by bank transfer instead of card? We need {n} seats.", "low",
         ["Our company doesn't use credit cards.", "We'd pay annually."]),
        ("You charged me sales tax but I'm a business customer with a valid VAT ID.", "normal",
         ["We're based in Germany.", "Can you refund the tax part?"]),
        ("There's a {amount} charge on my statement from Nimbus Notes and I don't recognise it.", "high",
         ["I don't think I ever signed up for a paid plan.", "Maybe someone in my family subscribed?"]),
        ("I was charged in euros instead of dollars, can you switch my billing currency?", "low",
         ["My bank adds a conversion fee every month."]),
        ("My {period} {plan} plan renewed for {amount} without any reminder email.", "normal",
         ["I would have cancelled if I'd known.", "Can I still get a refund?"]),
        ("Upgraded from Plus to Team mid-month and got billed the full {amount} instead of the difference.", "normal",
         ["I thought it would be prorated.", "Please adjust the charge."]),
        ("Our company needs a quote for {n} Team seats on annual billing before we can pay.", "low",
         ["Procurement won't approve a card payment without one.", "We'd start next month."]),
        ("I'd like a refund for the unused months of my annual {plan} plan.", "normal",
         ["I bought it in {month}.", "I'm switching to a different app."]),
        ("PayPal shows a pending {amount} payment to Nimbus Notes that never went through.", "normal",
         ["The app still shows me on Free.", "Should I try paying again?"]),
        ("The billing page says my payment is overdue but the money left my account on {weekday}.", "high",
         ["I'm worried my plan will be downgraded.", "I can send a screenshot of the bank transfer."]),
    ],
    "bug": [
        ("Sync keeps failing with error {sync_error} on my {device}.", "high",
         ["The sync icon just spins.", "Other apps work fine on the same wifi.", "It started a couple of days ago."]),
        ("Since updating to {version}, notes I write on my {device} don't show up on my {device2}.", "high",
         ["Both devices are signed in to the same account.", "The sync icon just spins."]),
        ("The app crashes right after the splash screen on my {device} since version {version}.", "high",
         ["It happens every single time.", "It works fine on my {device2}."]),
        ("Some of my notes in the {notebook} notebook just vanished after the last sync.", "high",
         ["They're not in the Trash either.", "I really need them back."]),
        ("{bfeature} is broken, it freezes the whole app on my {device}.", "normal",
         ["It works fine on my {device2}.", "It happens every single time."]),
        ("{bfeature} stopped working after the {version} update.", "normal",
         ["It worked fine last week.", "I tried logging out and back in."]),
        ("Every time I paste text from {browser} the formatting gets mangled into one long line.", "normal",
         ["Pasting from Word works fine.", "It worked fine last week."]),
        ("Smart Search doesn't find notes that definitely contain the word I'm typing.", "normal",
         ["It only happens with older notes.", "Searching on the web app works."]),
        ("The Web Clipper in {browser} says 'Saved' but the clipped page never appears in my notebook.", "normal",
         ["I tried reinstalling the extension.", "It happens on every site I try."]),
        ("Images in my notes show up as grey boxes on the {device}.", "normal",
         ["They look fine on the web app.", "It only happens with large notes."]),
        ("Export to PDF fails with EXP-500 for the {notebook} notebook every time.", "normal",
         ["Other notebooks export fine.", "The notebook has a lot of attachments."]),
        ("I get duplicate copies of every note after syncing my {device}.", "normal",
         ["Now I have hundreds of duplicates.", "It started a couple of days ago."]),
        ("Reminders don't fire anymore on my {mobile}, I missed two meetings because of it.", "high",
         ["Notifications are enabled for the app.", "It worked fine last week."]),
        ("In dark mode the text in code blocks is black on dark grey and unreadable.", "low",
         ["It's fine in light mode.", "I'm using {browser} on the web app."]),
        ("The desktop app uses 100% CPU on my {desktop} even when it's just sitting in the background.", "normal",
         ["The fan never stops.", "Quitting the app fixes it immediately."]),
        ("On my {desktop} the whole window looks blurry when I use display scaling.", "low",
         ["At 100% scaling it's sharp.", "Other apps look fine."]),
        ("Typing in long notes on the {mobile} has a huge lag, letters appear a second later.", "normal",
         ["Short notes are fine.", "It only happens with large notes."]),
        ("Checkboxes I tick on my {device} get unticked again after a few minutes.", "normal",
         ["I think sync is overwriting them.", "It happens in every checklist."]),
        ("The Android widget crashes the launcher on my {android} after the {version} update.", "normal",
         ["Removing the widget stops the crashes.", "It worked fine last week."]),
        ("Offline edits I made on the plane were overwritten when I reconnected.", "high",
         ["I lost about two hours of work.", "I didn't see any conflicted copy."]),
        ("Tags disappear from notes when I rename them in the sidebar.", "normal",
         ["It happens every single time.", "I have around 200 tagged notes."]),
        ("PDF Annotate freezes when I open a PDF larger than a few pages on my {device}.", "normal",
         ["Small PDFs work fine.", "I have to force quit the app."]),
        ("Version History shows an empty list for notes I edited yesterday.", "normal",
         ["I'm on {plan}, so it should keep history.", "I needed an older version of a note."]),
        ("The app gets stuck on 'Waiting to upload' and nothing syncs on my {device}.", "high",
         ["The sync icon just spins.", "It's been like this since {weekday}."]),
        ("Attachments over 5 MB fail to upload on the web app even though I'm on {plan}.", "normal",
         ["The upload bar gets to 99% and stops.", "I'm using {browser}."]),
        ("When I undo in a table the whole table gets deleted.", "normal",
         ["Redo doesn't bring it back.", "It happens every single time."]),
        ("Shared notebooks show an error loading spinner forever in {browser}.", "normal",
         ["My own notebooks load fine.", "Other people on my team see it too."]),
        ("Ink strokes drawn with the Apple Pencil on my iPad come out offset to the left.", "low",
         ["It started after the {version} update.", "Other drawing apps are fine."]),
        ("Keyboard shortcuts stopped working in the desktop app on my {desktop}.", "low",
         ["Even Ctrl+N does nothing.", "It worked fine last week."]),
        ("The note title resets to 'Untitled' whenever I switch notebooks.", "normal",
         ["It happens every single time.", "I've lost track of a lot of notes because of this."]),
        ("The app logs me out randomly and then shows a blank white screen on my {device}.", "high",
         ["I have to reinstall to get it working.", "It started after the {version} update."]),
        ("Search results open the wrong note, off by one from what I clicked.", "normal",
         ["It happens in the desktop app only.", "It worked fine last week."]),
        ("Numbered lists restart at 1 after every image in a note.", "low",
         ["It looks fine while editing but not after saving."]),
        ("Daily Notes creates two notes for the same day when I open it on two devices.", "low",
         ["I use it on my {device} and my {device2}."]),
    ],
    "account": [
        ("I never receive the password reset email, I've tried five times.", "high",
         ["I've checked the spam folder.", "I need access back today."]),
        ("The password reset link says it has expired even though I clicked it right away.", "normal",
         ["I've tried in two different browsers.", "I need access back today."]),
        ("I'm locked out with error AUTH-429 after too many login attempts.", "high", LOCKED),
        ("I lost my phone and can't get the two-factor code to log in.", "high", LOCKED),
        ("I got a new phone and my authenticator app didn't transfer, how do I log in?", "high", LOCKED),
        ("Where do I find my 2FA recovery codes? I want to store them somewhere safe.", "low",
         ["I set up two-factor last year."]),
        ("How do I turn on two-factor authentication for my account?", "low",
         ["Our company security policy requires it.", "I use the {device} mostly."]),
        ("I want to change the email address on my account because I'm leaving my job.", "normal",
         ["I still have access to my old email until {month}.", "I want to keep all my notes."]),
        ("Please delete my account and all my data.", "normal",
         ["I don't use the app anymore.", "Please confirm when it's done."]),
        ("How do I permanently delete my Nimbus account? I can't find the option.", "normal",
         ["I'm on the {device}.", "I already cancelled my subscription."]),
        ("I deleted my account by mistake {days} days ago, can I get it back?", "high",
         ["My notes are really important for work.", "I need access back today."]),
        ("I have two accounts, one with Google sign-in and one with email, can you merge them?", "normal",
         ["Both have notes I want to keep.", "I signed up about {years} years ago."]),
        ("I signed up with Apple and now can't log in on my {desktop}, it asks for a password I never set.", "normal",
         ["It works fine on my iPhone.", "The login page just reloads."]),
        ("We want to set up SSO with {idp} for our Team workspace, where do I start?", "normal",
         ["I'm the admin of our Team workspace.", "We have {n} people in the workspace."]),
        ("SSO login with {idp} loops back to the sign-in page for our whole team.", "high",
         ["Nobody on the team can get in.", "We have {n} people in the workspace."]),
        ("The person who owned our Team workspace left the company, how do we transfer ownership?", "normal",
         ["I'm an admin but not the owner.", "We have {n} people in the workspace."]),
        ("How do I remove a former employee from our Team workspace?", "normal",
         ["I'm the admin of our Team workspace.", "We want to keep the notes they wrote."]),
        ("My colleague never received the invite to join our Team workspace.", "normal",
         ["They've checked the spam folder.", "I resent it twice."]),
        ("I got an email about a sign-in from a location I don't recognise, is my account compromised?", "high",
         ["I've never been to that country.", "I already changed my password."]),
        ("How do I sign out of all devices? I left my laptop logged in at a hotel.", "high",
         ["I'm worried someone can read my notes."]),
        ("I keep getting AUTH-401 session expired every time I open the app on my {device}.", "normal",
         ["I changed my password recently.", "I have to sign in again every morning."]),
        ("Can I change my display name? It still shows my maiden name.", "low",
         ["It shows up on shared notebooks."]),
        ("I forgot which email I used to sign up, how can I find my account?", "normal",
         ["I signed up about {years} years ago.", "I have a few old addresses."]),
        ("My account says it's suspended and I don't know why.", "high",
         ["My notes are really important for work.", "I haven't done anything unusual."]),
        ("I want to convert my personal account into a Team workspace account.", "low",
         ["My company wants to pay for it now.", "I want to keep all my notes."]),
        ("Can I have separate work and personal accounts on the same {device}?", "low",
         ["Switching back and forth is annoying."]),
        ("The verification email for my new address never arrived.", "normal",
         ["I've checked the spam folder.", "I tried resending it."]),
        ("I can't remove my old phone number from two-factor settings.", "normal",
         ["I switched to an authenticator app.", "The remove button is greyed out."]),
        ("How do I change my password? The settings page only shows Google sign-in.", "low",
         ["I want to be able to log in without Google."]),
        ("Our admin enforced SSO and now I can't log into my personal notes anymore.", "normal",
         ["I used my work email for personal notes too.", "Can I move them to another account?"]),
        ("How do I reset my password if I no longer have access to the old email?", "high",
         ["That email was from my old university.", "I need access back today."]),
    ],
    "feature_request": [
        ("It would be great if you added {wish}.", "low", []),
        ("Please add {wish}, it's the one thing I miss.", "low", []),
        ("Any plans to support {wish}?", "low", []),
        ("Feature request: {wish}.", "low", []),
        ("I would love to see {wish} in a future update.", "low", []),
        ("Could you consider adding {wish}? I switched from {app} and really miss it.", "low", []),
        ("Our team would upgrade more seats if Nimbus had {wish}.", "normal",
         ["We have {n} people in our workspace."]),
        ("Suggestion: {wish}. {app} has it and it's super handy.", "low", []),
        ("Is {wish} on the roadmap? I'd vote for it.", "low", []),
        ("We'd really benefit from {wish} for our Team workspace.", "normal",
         ["We have {n} people in our workspace."]),
        ("Idea for the next version: {wish}.", "low", []),
        ("Not a bug, just a wish: {wish}.", "low", []),
    ],
}

WISHES = [
    "a calendar integration with Google Calendar", "Outlook calendar sync",
    "a Kanban board view for notebooks", "nested tags", "LaTeX math blocks",
    "end-to-end encryption for notebooks", "a public API with webhooks",
    "an Apple Watch app", "a native Linux ARM build", "custom fonts in the editor",
    "export to Obsidian-style Markdown with backlinks", "OCR for text inside images",
    "a Zapier integration", "password-protected notebooks", "bulk editing of tags",
    "more built-in Templates", "audio recording with transcription",
    "a way to pin notes to the top of a notebook", "real-time cursors when co-editing",
    "a split-screen view to see two notes side by side", "custom keyboard shortcuts",
    "a dark theme for the Web Clipper", "sorting notes by last opened",
    "a way to schedule Reminders that repeat every weekday", "mermaid diagram support",
    "an option to hide the word count", "a read-only public link for a single note",
    "color labels for notebooks", "a Slack integration that saves messages as notes",
    "better table support with formulas", "a handwriting-to-text button for Ink",
    "a focus timer inside Focus Mode", "emoji icons for notebooks",
    "the ability to archive notebooks instead of deleting them",
    "offline access on the Free plan for a single notebook",
    "a quick-capture shortcut on the Windows taskbar",
]

GENERIC_DETAILS = {
    "billing": ["My account is on the {plan} plan.", "I pay with my {card}.",
                "I've been a customer for {years} years.", "This is my personal account."],
    "bug": ["I'm on version {version}.", "My {device} is fully updated.",
            "I tried logging out and back in.", "I cleared the cache but it came back.",
            "I'm on the {plan} plan.", "This is affecting notes in the {notebook} notebook."],
    "account": ["I use the {device} mostly.", "I'm on the {plan} plan.",
                "I've had this account for {years} years."],
    "feature_request": [
        "I use Nimbus every day for my {notebook} notes.", "I'm on {plan} and happy to stay.",
        "Right now I have to use {app} for this.", "It would save me a lot of time.",
        "My whole team keeps asking about it.", "Especially on the {device}.",
        "Even a basic version would be fine.", "I saw others asking for this in the community forum.",
    ],
}

# words that keep their capital letter after a "Hi," style opening
KEEP_CAPS = {"I", "I'm", "I've", "I'd", "Smart", "Daily", "Version", "Reminders", "Backlinks",
             "Ink", "Focus", "PDF", "PayPal", "SSO", "Nimbus", "Google", "Apple", "Outlook"}


def slot_values(rng: random.Random) -> dict:
    plan, amount, period = rng.choice(PAID_PLAN_CHARGES)
    d1, d2 = rng.sample(DEVICES, 2)
    return {
        "plan": plan, "amount": amount, "period": period,
        "month": rng.choice(MONTHS), "card": rng.choice(CARD_BRANDS),
        "n": rng.choice([2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25]),
        "device": d1, "device2": d2, "mobile": rng.choice(MOBILE), "desktop": rng.choice(DESKTOP),
        "android": rng.choice(ANDROID),
        "browser": rng.choice(BROWSERS), "version": rng.choice(VERSIONS),
        "sync_error": rng.choice(SYNC_ERRORS), "notebook": rng.choice(NOTEBOOKS),
        "bfeature": rng.choice(BUGGY_FEATURES),
        "idp": rng.choice(IDPS), "app": rng.choice(APPS), "wish": rng.choice(WISHES),
        "days": rng.choice([3, 5, 10, 12, 20]), "years": rng.choice([2, 3, 4, 5, 6]), "weekday": rng.choice(WEEKDAYS),
    }


def fill(template: str, vals: dict) -> str:
    out = template.format(**vals)
    return out[0].upper() + out[1:] if out else out


def add_typo(text: str, rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # casual: all lower case, no final period
        return text.lower().rstrip(".")
    if kind == 1:  # dropped apostrophes
        return text.replace("'", "") if "'" in text else text.lower()
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not idx:
        return text.lower()
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    if kind == 2:  # swap adjacent letters
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 3:  # drop a letter
        w = w[:j] + w[j + 1:]
    else:  # double a letter
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def make_ticket(cat: str, rng: random.Random) -> tuple[str, str]:
    vals = slot_values(rng)
    template, prio, followups = rng.choice(ISSUES[cat])
    parts = []
    angry = cat != "feature_request" and rng.random() < 0.12
    opening = rng.choice(ANGRY_OPENINGS) if angry else rng.choice(OPENINGS)
    issue = fill(template, vals)
    if opening.endswith(","):
        first = issue.split(" ")[0]
        if first not in KEEP_CAPS and issue[1:2].islower():
            issue = issue[0].lower() + issue[1:]
    if opening:
        parts.append(opening)
    parts.append(issue)
    pool = list(followups) * 2 + GENERIC_DETAILS[cat]  # prefer issue-specific follow-ups
    for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
        det = fill(rng.choice(pool), vals)
        if det not in parts:
            parts.append(det)
    r = rng.random()
    if r < 0.3:
        parts.append(rng.choice(CAT_CLOSINGS[cat]))
    elif r < 0.7:
        c = rng.choice(CLOSINGS)
        if c:
            parts.append(c)
    text = " ".join(parts)
    if rng.random() < 0.15:
        text = add_typo(text, rng)
    # priority: template base, angry tone bumps up, small random noise
    order = ["low", "normal", "high"]
    k = order.index(prio)
    if angry:
        k = min(2, k + 1)
    if rng.random() < 0.1:
        k = max(0, min(2, k + rng.choice([-1, 1])))
    return text, order[k]


# --------------------------------------------------------------------------
# Hand-written rows for the planted quality problems
# --------------------------------------------------------------------------
PII_ROWS = [  # (category, priority, text) -- replace generated rows
    ("billing", "high",
     "I was charged twice for Plus this month. Please send the extra $6 back to my bank "
     "account DE89 3704 0044 0532 0130 00, the card I used is already cancelled."),
    ("account", "high",
     "I can't get the password reset email to arrive. My login is "
     "maria.gonzalez84@example.com, can you trigger it manually?"),
    ("account", "normal",
     "Please change the e-mail on my account to tom.becker@example.org, the old address "
     "belonged to my previous employer and I no longer have access to it."),
    ("bug", "high",
     "The Android app crashes every time I open a shared notebook since 4.3.0. If it's "
     "easier to debug over the phone you can call me at +1 415-555-0132."),
]
MOJIBAKE_ROW = ("bug", "normal",
                "Sync keeps failing with SYNC-503 when I'm on the cafÃ© wifi downstairs "
                "â€“ the note just says 'Waiting to upload' forever.")
EMPTY_TEXT_ROWS = [("billing", "normal"), ("bug", "normal")]
EMPTY_CATEGORY_ROW = ("normal",
                      "Hi, where can I download all my invoices from last year? Our "
                      "accountant needs every Plus receipt for the tax return.")
CONFLICT_PAIRS = [  # same text, two different labels
    ("I upgraded to Plus yesterday but the app still shows the Free plan limits and "
     "won't let me add a third device.", [("billing", "normal"), ("account", "normal")]),
    ("The Upgrade button in the app does nothing when I tap it, so I can't pay for Team.",
     [("bug", "normal"), ("billing", "normal")]),
]


def main() -> None:
    rng = random.Random(SEED)
    rows: list[dict] = []
    seen: set[str] = {norm(t) for _, _, t in PII_ROWS} | {norm(MOJIBAKE_ROW[2]),
                                                            norm(EMPTY_CATEGORY_ROW[1])}
    seen |= {norm(t) for t, _ in CONFLICT_PAIRS}
    for cat, n in TARGET.items():
        made = 0
        while made < n:
            text, prio = make_ticket(cat, rng)
            key = norm(text)
            if key in seen:
                continue
            seen.add(key)
            rows.append({"text": text, "category": cat, "priority": prio, "tag": "clean"})
            made += 1

    # replace 4 generated rows with PII rows and 1 with the mojibake row
    for cat, prio, text in PII_ROWS + [MOJIBAKE_ROW]:
        target = next(r for r in rows if r["category"] == cat and r["tag"] == "clean")
        target.update(text=text, priority=prio, tag="planted")

    # 3 exact duplicates of clean rows
    extra = []
    clean = [r for r in rows if r["tag"] == "clean"]
    for r in rng.sample(clean, 3):
        extra.append({**r, "tag": "duplicate"})
    for cat, prio in EMPTY_TEXT_ROWS:
        extra.append({"text": "", "category": cat, "priority": prio, "tag": "empty_text"})
    extra.append({"text": EMPTY_CATEGORY_ROW[1], "category": "", "priority": EMPTY_CATEGORY_ROW[0],
                  "tag": "empty_category"})
    for text, labels in CONFLICT_PAIRS:
        for cat, prio in labels:
            extra.append({"text": text, "category": cat, "priority": prio, "tag": "conflict"})

    allrows = rows + extra
    rng.shuffle(allrows)
    for i, r in enumerate(allrows):
        r["ticket_id"] = f"T-{10001 + i}"

    # ---- self-checks: the planted counts must be exact ----
    assert len(allrows) == 370
    texts = [r["text"] for r in allrows if r["text"]]
    tc = Counter(texts)
    pair_c = Counter((r["text"], r["category"]) for r in allrows if r["text"])
    assert sum(c - 1 for c in pair_c.values() if c > 1) == 3
    conflicts = [t for t in tc if len({r["category"] for r in allrows if r["text"] == t}) > 1]
    assert len(conflicts) == 2
    assert sum(1 for r in allrows if not r["text"]) == 2
    assert sum(1 for r in allrows if not r["category"]) == 1
    assert sum(1 for r in allrows if re.search(r"[\w.+-]+@[\w-]+\.\w+", r["text"])) == 2
    assert sum(1 for r in allrows if re.search(r"\+?\d[\d ()-]{8,}\d", r["text"])
               and "@" not in r["text"] and not re.search(r"[A-Z]{2}\d{2} ?\d{4}", r["text"])) == 1
    assert sum(1 for r in allrows if re.search(r"\b[A-Z]{2}\d{2}(?: ?\d{4}){4}", r["text"])) == 1
    assert sum(1 for r in allrows if "Ã" in r["text"] or "â€" in r["text"]) == 1
    assert sum(1 for r in allrows if not r["text"].isascii()) == 1

    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["ticket_id", "text", "category", "priority"],
                           quoting=csv.QUOTE_MINIMAL, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(allrows)

    cats = Counter(r["category"] or "(empty)" for r in allrows)
    print(f"wrote {OUT} with {len(allrows)} rows")
    for k, v in cats.most_common():
        print(f"  {k}: {v}")
    print("  priority:", dict(Counter(r["priority"] for r in allrows)))


if __name__ == "__main__":
    main()
