"""The words of generated archives: people's names in Cyrillic and Latin letters (with
the transliteration variants real files hold, so name search meets Ахмедов, Akhmedov
and Ahmedov for one family), places, perpetrators' units and the sentences accounts are
made of. Everything is fictional; nothing is drawn at random here (tests/benchmarks/
generate.py draws from these lists with its seeded generator).
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES_MEN = _words(
    "Магомед Ахмед Рамзан Ислам Руслан Адам Хасан Умар Ибрагим Зелимхан Тимур Аслан "
    "Шамиль Мурад Алихан Саид Бислан Апти Лечи Султан Ильяс Анзор Вахид Дмитрий Алексей "
    "Сергей Андрей Иван Николай Михаил Фарид Рустам Бахтияр Нурлан Ерлан Даурен Азамат "
    "Бекзат Жасур Шерзод Отабек Улугбек Тигран Арсен"
)
FIRST_NAMES_WOMEN = _words(
    "Зарема Фатима Марьям Хеда Луиза Малика Айшат Мадина Седа Петимат Елена Ольга Наталья "
    "Татьяна Юлия Ксения Айгерим Жанар Гульнара Дильноза Нилуфар Шахноза Анаит Лилит"
)
LAST_NAMES = _words(
    "Ахмедов Магомедов Исаев Хасанов Умаров Ибрагимов Алиев Юсупов Мусаев Абдулаев Эльмурзаев "
    "Дудаев Хаджиев Шамсудинов Цечоев Бакаев Чагаев Висаитов Межидов Садулаев Иванов Смирнов "
    "Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Волков Жумабаев Нурпеисов "
    "Сейткалиев Ташкентов Юлдашев Каримов Рахимов Хамраев Саркисян Петросян Оганесян Григорян"
)

# Two common schemes: one close to BGN/PCGN (passports, most press), one as people type
# names themselves (h for х, j for ж, ia for я).
_COMMON = dict(
    zip(
        "абвгдезиклмнопрстуфыэъь",
        [*"abvgdezikl", *"mnoprstufy", "e", "", ""],
        strict=True,
    )
)
_SCHEME_A = {
    **_COMMON,
    **dict(ё="yo", ж="zh", й="y", х="kh", ц="ts", ч="ch", ш="sh", щ="shch", ю="yu", я="ya"),
}
_SCHEME_B = {
    **_COMMON,
    **dict(ё="e", ж="j", й="i", х="h", ц="c", ч="ch", ш="sh", щ="sch", ю="iu", я="ia"),
}


def transliterate(name: str, scheme: dict[str, str]) -> str:
    letters = []
    for letter in name:
        lower = letter.lower()
        latin = scheme.get(lower, lower)
        letters.append(latin.capitalize() if letter != lower else latin)
    return "".join(letters)


def spellings(name: str) -> tuple[str, ...]:
    """The name, then its distinct Latin spellings."""
    variants = [name]
    for scheme in (_SCHEME_A, _SCHEME_B):
        latin = transliterate(name, scheme)
        if latin not in variants:
            variants.append(latin)
    return tuple(variants)


def feminine(surname: str) -> str:
    """The surname as a woman bears it (Ахмедов -> Ахмедова; Саркисян stays)."""
    return surname + "а" if surname.endswith(("ов", "ев", "ин")) else surname


# Each entry: the Cyrillic name, then its Latin spellings; surnames in both genders.
MEN = tuple(spellings(name) for name in FIRST_NAMES_MEN)
WOMEN = tuple(spellings(name) for name in FIRST_NAMES_WOMEN)
SURNAMES_MEN = tuple(spellings(name) for name in LAST_NAMES)
SURNAMES_WOMEN = tuple(spellings(feminine(name)) for name in LAST_NAMES)
NICKNAMES = ("Маго", "Рамзик", "Тима", "Sasha", "Lechi-junior", "Дима", "Zara", "Mika")

# Teams: (slug, name, share of the cases, countries, regions). The last is the small one.
TEAMS = (
    ("north-caucasus", "North Caucasus documentation", 0.55, ("RU",), ("Chechen Republic",)),
    ("central-asia", "Central Asia documentation", 0.25, ("KZ", "UZ", "TJ"), ("Almaty",)),
    ("south-caucasus", "South Caucasus documentation", 0.19, ("AM", "GE", "AZ"), ("Tbilisi",)),
    ("belarus-desk", "Belarus desk", 0.01, ("BY",), ("Minsk Region",)),
)
REGIONS = (
    "Chechen Republic",
    "Republic of Dagestan",
    "Republic of Ingushetia",
    "Kabardino-Balkaria",
    "Almaty Region",
    "Tashkent Region",
    "Sughd Region",
    "Shirak Province",
    "Kakheti",
    "Minsk Region",
)
PLACES = (
    "a checkpoint on the road north of the village",
    "the district police station, basement cells",
    "an unofficial detention site behind the former dairy",
    "the central market, near the bus station",
    "a private flat in a five-storey block on the ring road",
    "the border crossing, the customs building",
    "a military base outside the town",
)
UNITS = (
    "Special Rapid Response Unit No. 2",
    "District department of internal affairs",
    "Anti-extremism centre (Centre E)",
    "Regional security service",
    "Battalion named after a commander",
    "Unidentified men in black uniforms",
)
PERPETRATORS = (
    "an officer known as 'the Major'",
    "two men in masks",
    "the head of the district police",
    "a man introduced as 'Aslan from the ministry'",
    "unidentified officers",
)
SENTENCES = (
    "Он был задержан у блокпоста и удерживался шесть дней без связи с родственниками.",
    "Родственники обратились в районный отдел полиции, но заявление не приняли.",
    "По словам свидетеля, задержанного избивали и требовали назвать других.",
    "The witness saw three men in uniform put him into a car without number plates.",
    "His family was told he had left for work abroad and should not be looked for.",
    "Свидетель просит не раскрывать его имя: он опасается за безопасность семьи.",
    "The interview took place in a safe location with an interpreter present.",
    "Медицинское заключение фиксирует следы побоев и ожоги на запястьях.",
    "After release he was made to record a video apologising on state television.",
    "Адвокату не разрешили встретиться с задержанным в течение трёх суток.",
    "Neighbours confirmed that the car returned the next night and searched the house.",
    "She received threats by phone after speaking to journalists about her brother.",
    "Источник сообщает, что в том же помещении удерживались ещё по меньшей мере пять человек.",
    "The account is consistent with two other interviews taken independently in May.",
)
TITLES = (
    "Detention at a checkpoint",
    "Abduction from the family home",
    "Disappearance after a police summons",
    "Torture in police custody",
    "Threats against a relative of a victim",
    "Forced public apology",
    "Killing of a detainee",
    "Extortion by officers at a market",
)
REPORT_TITLES = (
    "Interview with a survivor",
    "Hotline call from a relative",
    "Partner organisation's summary",
    "Press report",
    "Secure message from a witness",
    "Medical report",
    "Social media post, archived",
)
AUTHORITIES = ("District prosecutor", "Regional police", "Ministry of Internal Affairs")
TARGETS = ("Regional authorities", "UN Human Rights Committee", "OSCE", "Embassy")
ORGANISATIONS = (
    "Memorial",
    "Human Rights Watch",
    "Amnesty International",
    "Civic Assistance Committee",
    "Russian LGBT Network",
    "Front Line Defenders",
    "Natalia Estemirova Documentation Centre",
    "Norwegian Helsinki Committee",
    "Kazakhstan International Bureau for Human Rights",
    "Viasna",
    "Article 19",
    "Reporters Without Borders",
)
