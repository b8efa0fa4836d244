"""How text files are decoded: UTF-16 without a byte-order mark (also Chinese or Thai, whose UTF-16 has few NUL bytes
or none), text with a few stray NULs without them, Central European, Baltic, Cyrillic, Greek and Turkish legacy code
pages told from Windows-1252 (which Western European text still is); binary files and files with many NULs are
skipped with a reason that says what to do."""

import codecs
import random
import struct

import pytest
from haystack.components.converters import TextFileToDocument
from haystack.dataclasses import ByteStream

from indexing.files import WITHOUT_NUL, file_text_encoding, text_encoding, unreadable_reason
from indexing.html_converter import HTMLConverter

pytestmark = pytest.mark.unit

ENGLISH = "Harbour report.\r\nThe ferry leaves at seven every morning, and the café opens at eight.\r\n"
RUSSIAN = "Все документы должны быть представлены не позднее конца следующей недели.\n"
CHINESE = "所有文件必须在下周末之前提交。一 二 三 hello world\n"
BINARY = "binary file, not text (contains NUL bytes)"


def _read(path) -> str:
    """The file's text as the indexer reads it: its encoding in the source's metadata (as the router passes it on),
    decoded by the converter."""
    meta = {"file_path": str(path)}
    if encoding := file_text_encoding(path):
        meta["encoding"] = encoding
    [document] = TextFileToDocument().run(sources=[ByteStream.from_file_path(path, meta=meta)])["documents"]
    return document.content


@pytest.mark.parametrize("text", [ENGLISH, RUSSIAN, CHINESE, "Hi", ENGLISH * 2000])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_decoded(text, encoding):
    data = text.encode(encoding)
    assert not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert text_encoding(data) == encoding
    assert data.decode(text_encoding(data)) == text


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_a_utf16_text_file_without_a_byte_order_mark_is_indexed(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(ENGLISH.encode("utf-16-le"))
    assert unreadable_reason(path) is None
    assert file_text_encoding(path) == "utf-16-le"
    assert _read(path) == ENGLISH


def test_a_utf16_page_without_a_byte_order_mark_is_converted(tmp_path):
    page = "<html><body><p>The Kessel museum opens at nine every morning except Monday.</p></body></html>"
    path = tmp_path / "hours.html"
    path.write_bytes(page.encode("utf-16-be"))
    assert unreadable_reason(path) is None
    [document] = HTMLConverter().run([path])["documents"]
    assert document.content == "The Kessel museum opens at nine every morning except Monday."
    assert document.meta["encoding"] == "utf-16-be"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"Export from LegacyDB\x00\nThe Oslo office closes at 16:30 on Fridays.\n", "utf-8" + WITHOUT_NUL),
        ("Caf\u00e9 cr\u00e8me\x00, the menu.\n".encode("cp1252"), "cp1252" + WITHOUT_NUL),
        (("Säätiedote.\n" * 50).encode() + b"\x00" * 3 + b"Loppu.\n", "utf-8" + WITHOUT_NUL),
        (b"A log line.\n" * 20 + b"\x00" * 4096, "utf-8" + WITHOUT_NUL),
        ("Der Käse\x00 aus München.".encode() + b" Price: 5\xa4 only.", "utf-8-replace" + WITHOUT_NUL),
    ],
    ids=["after-a-header", "cp1252", "a-few-in-the-middle", "end-padding", "stray-bytes-too"],
)
def test_text_with_a_few_stray_nul_bytes_is_read_without_them(data, encoding):
    assert text_encoding(data) == encoding
    text = data.decode(encoding)
    assert "\x00" not in text
    assert text == data.replace(b"\x00", b"").decode(encoding.removesuffix(WITHOUT_NUL))


def test_a_text_file_with_a_stray_nul_is_indexed_without_it(tmp_path):
    path = tmp_path / "nul_in_text.txt"
    path.write_bytes(b"Export from LegacyDB\x00\nThe Oslo office closes at 16:30 on Fridays.\n")
    assert unreadable_reason(path) is None
    assert _read(path) == "Export from LegacyDB\nThe Oslo office closes at 16:30 on Fridays.\n"
    page = tmp_path / "page.html"
    page.write_bytes(b"<html><body><p>The ferry\x00 leaves at seven every morning.</p></body></html>")
    assert unreadable_reason(page) is None
    assert [d.content for d in HTMLConverter().run([page])["documents"]] == ["The ferry leaves at seven every morning."]


def test_the_codecs_without_nul_decode_by_name():
    assert codecs.lookup("utf-8-without-nul").name == "utf-8-without-nul"
    assert b"a\x00b".decode("UTF_8_WITHOUT_NUL") == "ab"
    assert b"caf\xe9\x00".decode("cp1252-without-nul") == "café"
    assert b"caf\xc3\xa9 \x92\x00".decode("utf-8-replace-without-nul") == "café \ufffd"
    with pytest.raises(LookupError):
        codecs.lookup("no-such-codec-without-nul")


def _elf_like() -> bytes:
    rng = random.Random(7)
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + bytes(rng.randrange(256) for _ in range(4000))


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        _elf_like(),
        struct.pack("<500H", *random.Random(1).choices(range(200), k=500)),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"word/document.xml" * 10,
    ],
    ids=["png-header", "png-and-every-byte", "elf-like", "uint16-array", "zip-header"],
)
def test_binary_data_is_still_binary(data, tmp_path):
    assert text_encoding(data) is None
    path = tmp_path / "data.txt"
    path.write_bytes(data)
    assert unreadable_reason(path) == BINARY
    path = tmp_path / "data.html"
    path.write_bytes(data)
    assert unreadable_reason(path) == BINARY


def test_text_with_many_nul_bytes_is_skipped_with_what_to_do(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes(ENGLISH.encode("utf-32-le"))  # no byte-order mark: 3 NULs in every 4 bytes
    assert text_encoding(path.read_bytes()) is None
    reason = unreadable_reason(path)
    assert reason.startswith("text with too many NUL bytes") and "save it as UTF-8" in reason, reason
    interleaved = tmp_path / "interleaved.txt"
    interleaved.write_bytes(b"\x00".join(ENGLISH.encode()[i : i + 4] for i in range(0, len(ENGLISH), 4)))
    assert unreadable_reason(interleaved).startswith("text with too many NUL bytes")


def test_broken_utf16_without_a_byte_order_mark_is_skipped_with_what_to_do(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes(ENGLISH.encode("utf-16-le") + b"x")  # cut short: an odd number of bytes
    assert text_encoding(path.read_bytes()) is None
    assert unreadable_reason(path) == (
        "not valid UTF-16-LE text (its NUL bytes fall as in UTF-16 without a byte-order mark, but it is cut short "
        "or has broken characters); save it as UTF-8"
    )


def test_a_file_of_nul_bytes_only_has_no_text(tmp_path):
    path = tmp_path / "zeroed.txt"
    path.write_bytes(b"\x00" * 4096)
    assert text_encoding(path.read_bytes()) is None
    assert unreadable_reason(path) == "no text (only NUL bytes)"


def test_files_without_nul_bytes_are_read_as_before():
    text = "Der Käse aus München reift im Gewölbekeller."
    assert text_encoding(text.encode()) == "utf-8"
    assert text_encoding(text.encode("utf-16")) == "utf-16"
    assert text_encoding(text.encode("utf-32")) == "utf-32"
    assert text_encoding(text.encode("cp1252")) == "cp1252"
    assert text_encoding(text.encode("utf-8-sig")) == "utf-8-sig"


#: One line and a paragraph in each language, and the legacy code pages its files are saved in.
LEGACY_TEXTS = {
    "Polish": (
        ("cp1250", "iso8859_2"),
        "Pociąg z Łodzi do Gdańska odjeżdża o ósmej rano z peronu trzeciego.",
        "Zarząd spółki poinformował, że sprawozdanie finansowe zostanie opublikowane w przyszłym tygodniu. Mieszkańcy "
        "Wrocławia i Poznania mogą składać wnioski do końca września.\nŹródła podają, że budowa mostu potrwa jeszcze "
        "co najmniej dwa lata.\n",
    ),
    "Czech": (
        ("cp1250", "iso8859_2"),
        "Příliš žluťoučký kůň úpěl ďábelské ódy a pak odešel do stáje.",
        "Městský úřad oznámil, že rekonstrukce náměstí bude dokončena nejpozději v říjnu. Všechny dokumenty musí být "
        "předloženy do konce příštího měsíce.\nŘeditel školy poděkoval učitelům a popřál všem krásné prázdniny.\n",
    ),
    "Slovak": (
        ("cp1250", "iso8859_2"),
        "Ďalšie informácie nájdete na webovej stránke ministerstva školstva.",
        "Mestský úrad oznámil, že rekonštrukcia námestia bude ukončená najneskôr v októbri. Podľa predpovede počasia "
        "bude v stredu slnečno.\nRiaditeľ školy poďakoval učiteľom za ich prácu.\n",
    ),
    "Hungarian": (
        ("cp1250", "iso8859_2"),
        "Győr és Szeged között naponta négy vonat közlekedik, az első reggel hétkor indul.",
        "Az önkormányzat bejelentette, hogy a főtér felújítása legkésőbb októberben befejeződik. Minden dokumentumot a "
        "jövő hónap végéig kell benyújtani.\nÁrvíztűrő tükörfúrógép.\n",
    ),
    "Slovenian": (
        ("cp1250", "iso8859_2"),
        "Občina je sporočila, da bo prenova trga končana najkasneje oktobra.",
        "Vse dokumente je treba oddati do konca prihodnjega meseca, sicer vloga ne bo obravnavana. Po vremenski "
        "napovedi bo v sredo sončno.\nRavnatelj šole se je zahvalil učiteljem za njihovo delo.\n",
    ),
    "Croatian": (
        ("cp1250", "iso8859_2"),
        "Prema vremenskoj prognozi u srijedu će biti sunčano, a noću će pasti kiša.",
        "Gradsko vijeće objavilo je da će obnova trga biti završena najkasnije u listopadu. Đakovo i Čakovec dobit će "
        "nove dječje vrtiće.\nRavnatelj škole zahvalio je učiteljima na trudu.\n",
    ),
    "Romanian": (
        ("cp1250", "iso8859_2"),
        "Trenul de la Bucureşti la Cluj pleacă în fiecare zi la ora şapte dimineaţa.",
        "Primăria a anunţat că renovarea pieţei va fi finalizată cel târziu în octombrie. Directorul şcolii le-a "
        "mulţumit profesorilor.\nBiblioteca din Timişoara va fi deschisă joia cu două ore mai mult.\n",
    ),
    "Lithuanian": (
        ("cp1257", "iso8859_13"),
        "Traukinys iš Vilniaus į Šiaulius išvyksta kasdien septintą valandą ryto.",
        "Savivaldybė pranešė, kad aikštės rekonstrukcija bus baigta ne vėliau kaip spalio mėnesį. Žmonės iš Klaipėdos "
        "ir Panevėžio galės užsiregistruoti internetu.\n",
    ),
    "Latvian": (
        ("cp1257", "iso8859_13"),
        "Liepājas bibliotēka ceturtdienās būs atvērta divas stundas ilgāk.",
        "Pašvaldība paziņoja, ka laukuma pārbūve tiks pabeigta ne vēlāk kā oktobrī. Visi dokumenti jāiesniedz līdz "
        "nākamā mēneša beigām.\nVilciens no Rīgas atiet katru dienu septiņos no rīta.\n",
    ),
    "Estonian": (
        ("cp1257", "iso8859_15"),
        "Žürii teatab konkursi võitjad reedel, šokolaadi jagatakse kõigile.",
        "Linnavalitsus teatas, et väljaku rekonstrueerimine lõpeb hiljemalt oktoobris. Kõik dokumendid tuleb esitada "
        "järgmise kuu lõpuks.\nŽürii teatab võitjad reedel.\n",
    ),
    "Russian": (
        ("cp1251", "koi8_r", "iso8859_5", "cp866"),
        "Библиотека в Новосибирске по четвергам будет работать на два часа дольше.",
        "Городская администрация сообщила, что реконструкция площади завершится не позднее октября. Все документы "
        "необходимо представить до конца следующего месяца.\nСъезд участников состоится в понедельник.\n",
    ),
    "Ukrainian": (
        ("cp1251", "koi8_u"),
        "Бібліотека в Харкові по четвергах працюватиме на дві години довше.",
        "Міська рада повідомила, що реконструкція площі завершиться не пізніше жовтня. Усі документи потрібно подати "
        "до кінця наступного місяця.\nПотяг з Києва до Львова відправляється щодня.\n",
    ),
    "Bulgarian": (
        ("cp1251",),
        "Влакът от София за Варна тръгва всеки ден в седем часа сутринта.",
        "Общината съобщи, че ремонтът на площада ще приключи най-късно през октомври. Всички документи трябва да бъдат "
        "представени до края на следващия месец.\n",
    ),
    "Serbian": (
        ("cp1251",),
        "Воз из Београда за Нови Сад полази сваког дана у седам сати ујутру.",
        "Градска управа је саопштила да ће реконструкција трга бити завршена најкасније у октобру. Сви документи "
        "морају бити предати до краја следећег месеца.\n",
    ),
    "Greek": (
        ("cp1253", "iso8859_7"),
        "Η βιβλιοθήκη στον Άγιο Νικόλαο θα μένει ανοιχτή δύο ώρες περισσότερο.",
        "Ο δήμος ανακοίνωσε ότι η ανακαίνιση της πλατείας θα ολοκληρωθεί το αργότερο τον Οκτώβριο. Όλα τα έγγραφα "
        "πρέπει να υποβληθούν έως το τέλος του επόμενου μήνα.\n",
    ),
    "Turkish": (
        ("cp1254", "iso8859_9"),
        "Okul müdürü öğretmenlere teşekkür etti ve herkese iyi tatiller diledi.",
        "Belediye, meydanın yenilenmesinin en geç ekimde tamamlanacağını açıkladı. Tüm belgelerin gelecek ayın sonuna "
        "kadar teslim edilmesi gerekiyor.\nİstanbul'dan Ankara'ya giden tren her gün sabah yedide kalkıyor.\n",
    ),
}


@pytest.mark.parametrize(
    ("language", "encoding", "text"),
    [
        pytest.param(language, encoding, text, id=f"{language}-{encoding}-{length}")
        for language, (encodings, line, paragraph) in LEGACY_TEXTS.items()
        for encoding in encodings
        for length, text in (("line", line), ("paragraph", paragraph))
    ],
)
def test_central_european_baltic_cyrillic_greek_and_turkish_code_pages_are_read_right(language, encoding, text):
    data = text.encode(encoding)
    found = text_encoding(data)
    assert found is not None and data.decode(found) == text, (found, data.decode(found or "latin-1")[:80])


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Łódź", "cp1250"),
        ("Łódź", "iso8859_2"),
        ("Spotkanie w Łodzi", "cp1250"),
        ("Kraków i Gdańsk", "cp1250"),
        ("Zażółć gęślą jaźń", "iso8859_2"),
        ("Příliš žluťoučký kůň úpěl ďábelské ódy", "iso8859_2"),
        ("Šiaulių universitetas", "cp1257"),
        ("Timişoara", "cp1250"),
        ("Đakovo", "cp1250"),
        ("Teşekkürler", "cp1254"),
        ("Москва", "koi8_r"),
        ("Привет, мир", "iso8859_5"),
        ("Київ", "cp1251"),
        ("Αθήνα", "iso8859_7"),
    ],
)
def test_short_names_in_legacy_code_pages_are_read_right(text, encoding):
    data = text.encode(encoding)
    assert data.decode(text_encoding(data)) == text


WESTERN_TEXTS = {
    "English": "The naïve café owner, Zoë, served crème brûlée — “délicieux!” — for £5 or 6 €.",
    "German": "„Wir müssen reden“, sagte Frau Müller, und das Café in Düsseldorf schloss um 18 Uhr (25 °C, § 5).",
    "French": "« Bonjour ! » L’école ouvre à 8 h ; c’est déjà l’été… Le cœur de la forêt fait 40 m², n° 5.",
    "Spanish": "¿Dónde está la estación? ¡Allí! — dijo el señor Muñoz en Logroño, el 1º de mayo.",
    "Norwegian": "Toget fra Oslo til Bergen går hver dag; blåbærsyltetøy og rødgrøt serveres på Tromsø.",
    "Portuguese": "A comissão de avaliação não aprovou as alterações; a reunião será às 9h30 em São João.",
    "Italian": "Perché no? È già così: la città è più bella di sera, disse l’ingegnere.",
    "Swedish": "Tåget från Stockholm till Göteborg går varje dag klockan sju på morgonen.",
    "Finnish": "Hyvää päivää! Sääennuste lupaa lämmintä; yöllä pakkasta.",
    "Icelandic": "Þórður og Guðrún fóru til Reykjavíkur í gær; veðrið var gott á Alþingi.",
    "Danish": "Træerne i haven er høje, og knæet gør ondt efter turen til Århus.",
    "Catalan": "Català: la Mònica va a l’església de València; història, pàgina, cèntim.",
}


@pytest.mark.parametrize("text", WESTERN_TEXTS.values(), ids=WESTERN_TEXTS)
def test_western_european_text_in_windows_1252_is_read_as_before(text):
    data = text.encode("cp1252")
    assert text_encoding(data) == "cp1252"
    assert text_encoding((text * 40).encode("cp1252")) == "cp1252"
    assert text_encoding(text.encode("utf-8")) == "utf-8"


def test_ascii_text_is_utf8():
    assert text_encoding(b"The ferry leaves at seven every morning.\r\n") == "utf-8"


#: Text whose UTF-16 has few NUL bytes or none: no ASCII (Chinese, Japanese, Thai without spaces) or little.
WIDE_TEXTS = {
    "Chinese": "所有文件必须在下个月底之前提交，否则申请将不予审理。校长感谢老师们的辛勤工作，并祝大家暑假愉快。",
    "Traditional Chinese": "從台北到高雄的火車每天早上七點出發。市政府宣佈廣場翻新工程最遲將於十月完成。",
    "Japanese": "東京から大阪行きの列車は毎朝七時に出発します。\r\nすべての書類は来月末までに提出してください。\r\n",
    "Korean": "서울에서 부산으로 가는 기차는 매일 아침 일곱 시에 출발합니다.",
    "Thai": "รถไฟจากกรุงเทพไปเชียงใหม่ออกทุกวันเวลาเจ็ดโมงเช้า",
    "Russian": "Поезд из Москвы в Санкт-Петербург отправляется каждый день в семь часов утра.\r\n",
    "Greek": "Ο δήμος ανακοίνωσε ότι η ανακαίνιση της πλατείας θα ολοκληρωθεί τον Οκτώβριο.",
    "Arabic": "أعلنت البلدية أن تجديد الساحة سينتهي في موعد أقصاه أكتوبر.",
    "Hebrew": "העירייה הודיעה כי שיפוץ הכיכר יסתיים לכל המאוחר באוקטובר.",
    "Hindi": "नगर निगम ने घोषणा की कि चौक का नवीनीकरण अक्टूबर तक पूरा हो जाएगा।",
    "Chinese without punctuation": "市政府宣布广场翻新工程最迟将于十月完成",
}


@pytest.mark.parametrize("text", WIDE_TEXTS.values(), ids=WIDE_TEXTS)
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_in_other_scripts_is_decoded(text, encoding):
    for repeated in (text, text * 50):
        data = repeated.encode(encoding)
        assert text_encoding(data) == encoding
        assert data.decode(encoding) == repeated


def test_a_chinese_utf16_file_without_a_byte_order_mark_is_indexed(tmp_path):
    path = tmp_path / "notice.txt"
    path.write_bytes(WIDE_TEXTS["Chinese"].encode("utf-16-be"))
    assert unreadable_reason(path) is None
    assert _read(path) == WIDE_TEXTS["Chinese"]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (WIDE_TEXTS["Chinese"], "gb18030"),
        (WIDE_TEXTS["Traditional Chinese"], "big5"),
        (WIDE_TEXTS["Japanese"], "cp932"),
        (WIDE_TEXTS["Korean"], "euc_kr"),
        (WIDE_TEXTS["Thai"], "cp874"),
        (WIDE_TEXTS["Arabic"], "cp1256"),
        (WIDE_TEXTS["Hebrew"], "cp1255"),
    ],
)
def test_legacy_encodings_of_other_scripts_are_not_taken_for_utf16(text, encoding):
    data = text.encode(encoding)
    assert data.decode(text_encoding(data)) == text


def _random_bytes(seed: int, size: int, low: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(low, 256) for _ in range(size))


@pytest.mark.parametrize(
    "data",
    [
        _random_bytes(1, 4096),
        _random_bytes(2, 4096, low=1),
        _random_bytes(3, 4096, low=0x80),
        struct.pack("<2000H", *random.Random(4).choices(range(0x101, 0xFFFF), k=2000)),
        struct.pack("<2000H", *random.Random(5).choices(range(0x4E00, 0xA000), k=2000)),
        struct.pack("<1000f", *(random.Random(6).uniform(-1, 1) for _ in range(1000))),
        b"\xff\xd8\xff\xe0" + _random_bytes(7, 2000, low=1),
        bytes(range(1, 256)) * 8,
    ],
    ids=["random", "without-nul", "high", "uint16", "uint16-in-cjk-range", "float32", "jpeg", "every-byte"],
)
def test_binary_data_is_not_taken_for_text_in_any_encoding(data):
    assert text_encoding(data) is None


def test_a_czech_page_without_a_declared_charset_is_converted_right(tmp_path):
    text = "Městský úřad oznámil, že rekonstrukce náměstí v Plzni bude dokončena nejpozději v říjnu."
    path = tmp_path / "oznameni.html"
    path.write_bytes(f"<html><body><p>{text}</p></body></html>".encode("iso8859_2"))
    assert unreadable_reason(path) is None
    [document] = HTMLConverter().run([path])["documents"]
    assert document.content == text
