"""Word lists of the offline extractor.

Screenplay conventions do most of the work (upper case for introductions, props and sounds); these
lists tell the kinds of upper-case words apart. They are deliberately short and concrete: a word
missing here makes the extractor miss an entity, which the user can add by hand, while a word
wrongly present would silently drop a real one.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that never belong to a prop name; a caps run containing one is shouted action.
FUNCTION_WORDS = _words(
    """
    THE A AN OF AND OR BUT TO IN ON AT INTO ONTO FROM WITH BY FOR IS ARE WAS WERE IT IT'S ITS HE
    SHE THEY WE YOU I I'M HIS HER HIM THEIR THEM OUR MY ME YOUR THIS THAT THESE THOSE NOT NO YES
    UP DOWN OUT OFF OVER AS SO THEN THAN BE BEEN HAS HAVE HAD DO DOES DID DON'T WILL CAN JUST
    VERY NOW HERE THERE WHAT WHO WHY HOW WHEN WHERE AGAIN AWAY BACK
    """
)
# Lower-case words after which an upper-case noun is a thing: "a REVOLVER", "his GLOCK".
DETERMINERS = _words(
    """
    a an the his her their its my your our this that these those some another every each any
    two three four five six several one of with
    """
)
SOUND_WORDS = _words(
    """
    BANG BANGS BOOM CRASH CRASHES SMASH SLAM SLAMS THUD CLICK CLICKS BEEP BEEPS RING RINGS KNOCK
    KNOCKS SCREAM SCREAMS SHRIEK GASP POP WHOOSH ROAR ROARS RUMBLE HONK HONKS BUZZ BUZZES CLANG
    CLATTER SOUND SOUNDS NOISE NOISES MUSIC FEEDBACK STATIC GUNFIRE GUNSHOT GUNSHOTS SHOT SHOTS
    EXPLOSION EXPLOSIONS THUNDER SPLASH CRACK SNAP WHISTLE CHIME CHIMES DING GROAN BARK BARKS
    HISS SCREECH SQUEAL THUMP BLAST BLARES BEAT SONG TRACK RUMBLING SCREAMING LAUGHTER APPLAUSE
    THUNK ECHO WHACK SLAP PUNCH THWACK ZAP VROOM KICK VOICE VOICES
    """
)
CAMERA_WORDS = _words(
    """
    CAMERA FRAME POV ANGLE CLOSE CLOSEUP CLOSE-UP INSERT SUPER SUPERIMPOSE FADE FADES CUT DISSOLVE
    PAN ZOOM TRACKING WIDE ESTABLISHING REVERSE FLASHBACK MONTAGE INTERCUT TITLE TITLES CREDITS
    V.O. O.S. O.C. MOS SERIES END OMITTED CONTINUED CONTINUOUS SLOW MOTION FREEZE B.G. F.G. BG FG
    OFFSCREEN SUBTITLES SUBTITLE SCENE SHOT PROJECTION P.O.V. P.O.V
    """
)
# Upper case used for emphasis; as a leading adjective it is dropped ("a GIGANTIC RIFLE" -> Rifle).
EMPHASIS_WORDS = _words(
    """
    VERY REALLY NOT NEVER ALWAYS ALL NOW STOP HUGE GIANT GIGANTIC ENORMOUS MASSIVE TINY LITTLE BIG
    SMALL LOUD SUDDENLY EVERYTHING NOTHING EVERYONE NOBODY SOMETHING OK OKAY DEAD BAD GOOD
    EXTREMELY ENTIRE WHOLE FULL ONLY EXACTLY STRAIGHT INCHES FEET OMINOUS THREATENING DRAMATIC
    HOT COLD WET DRY FAST HIGH LOW
    """
)
TIME_WORDS = _words("DAY NIGHT MORNING EVENING AFTERNOON LATER FALL WINTER SPRING SUMMER TODAY TONIGHT")
# Singular people; an upper-case run ending in one is a person, never a prop.
PERSON_NOUNS = _words(
    """
    MAN WOMAN GIRL BOY GUY LADY KID CHILD BABY TEEN TEENAGER DUDE GENTLEMAN FELLOW PERSON STRANGER
    MAILMAN POSTMAN DRIVER CLERK NURSE DOCTOR COP OFFICER GUARD SOLDIER PILOT COPILOT STEWARDESS
    STEWARD ATTENDANT WAITER WAITRESS BARTENDER DIRECTOR MANAGER BOSS SECRETARY RECEPTIONIST
    TECHNICIAN TECH SCIENTIST REPORTER JOURNALIST PHOTOGRAPHER NEWSCASTER ANCHOR ANNOUNCER HOST
    PRIEST NUN MONK TEACHER STUDENT COACH PRINCIPAL JUDGE LAWYER DETECTIVE AGENT SHERIFF DEPUTY
    SERGEANT CAPTAIN LIEUTENANT GENERAL COLONEL PRIVATE MINION HENCHMAN THUG BODYGUARD BUTLER MAID
    CHEF COOK FARMER SAILOR WORKER MEMBER PASSENGER CUSTOMER SHOPPER TOURIST PATIENT PRISONER
    INMATE BLONDE BRUNETTE REDHEAD ZEALOT PRESIDENT AIDE KIDNAPPER MOTHER FATHER MOM DAD SON
    DAUGHTER WIFE HUSBAND BROTHER SISTER GRANDMOTHER GRANDFATHER AUNT UNCLE COUSIN FRIEND
    BOYFRIEND GIRLFRIEND PARTNER NEIGHBOR NEIGHBOUR COUPLE FAMILY CROWD GROUP MOB CHOIR BAND TEAM
    CONTROLLER DISPATCHER OPERATOR EXTRA EXTRAS NERD PUNK PROTESTER SPINSTER VICTIM PORTER JANITOR
    CASHIER CUSTODIAN SALESMAN VENDOR USHER PARAMEDIC PHARMACIST HOSTESS LANDLORD MINISTER
    CHARACTER CHIEF SCOUT
    """
)
ANIMALS = _words(
    """
    DOG DOGS CAT CATS HORSE HORSES BIRD BIRDS PUPPY KITTEN COW COWS PIG PIGS SHEEP GOAT CHICKEN
    DUCK FISH SHARK RAT RATS MOUSE MICE SNAKE MONKEY BEAR WOLF DEER KOALA KOALAS POODLE
    """
)
BODY_PARTS = _words(
    """
    HEAD FACE EYE EYES EAR EARS NOSE MOUTH LIPS TEETH HAIR NECK SHOULDER SHOULDERS ARM ARMS HAND
    HANDS FINGER FINGERS FINGERNAILS WRIST CHEST BELLY STOMACH NAVEL BACK LEG LEGS KNEE KNEES FOOT
    FEET TOE TOES SKIN HEART BUTT
    """
)
# Lower-case words that may stand between an article and the noun it introduces.
ADJECTIVES = _words(
    """
    sleek old new big small little tiny huge large long short tall cold hot warm empty full single
    giant vintage antique dark bright pale thin thick heavy light fat plain fancy cheap classic
    modern ancient metal leather glass paper wooden other same real fake lone spare second first
    """
)
ADJECTIVE_ENDINGS = (
    "ed",
    "en",
    "y",
    "al",
    "ic",
    "ous",
    "ful",
    "less",
    "ive",
    "ish",
    "able",
    "ible",
    "ing",
    "ant",
)
# Lower-case words that may follow a noun phrase: verbs in the present tense, prepositions.
FOLLOWERS = _words(
    """
    in on at to from into onto out off up down over under with and or but as that which who while
    then behind across through toward towards around near beside by for of away back is are was
    were has have had can will would could should might must does did inside outside here there
    now again too also still just sit sits lie lies stand stands hang hangs
    """
)
# Words of places; a caps run ending in one is a set, not a prop ("her BEDROOM").
PLACE_NOUNS = _words(
    """
    HOUSE HOME ROOM BEDROOM KITCHEN BATHROOM OFFICE STREET HALLWAY HALL LOBBY BUILDING STORE SHOP
    DRUGSTORE SCHOOL HOSPITAL APARTMENT GARAGE BASEMENT ATTIC YARD GARDEN PARK CITY TOWN STATION
    AIRPORT TERMINAL CABIN COCKPIT BAR RESTAURANT CAFE CHURCH CLINIC WARD LAB LABORATORY FOREST
    BEACH OCEAN SEA RIVER LAKE HIGHWAY ROAD ALLEY CORRIDOR STAIRS STAIRWELL PORCH ROOF CLASSROOM
    CAFETERIA GYM MALL HOTEL MOTEL STUDIO GALLERY WAREHOUSE FACTORY PRISON COURTROOM BANK
    """
)
# Plural people who fill a frame without lines: the extras archetypes.
CROWD_NOUNS = _words(
    """
    passengers soldiers reporters nurses doctors police policemen cops officers guards students
    kids children teenagers teens dancers workers tourists protesters protestors stewardesses
    pilots customers shoppers waiters waitresses guests spectators fans cheerleaders musicians
    nuns priests monks sailors marines troops thugs gangsters henchmen bodyguards villagers
    farmers prisoners inmates patients paramedics firefighters firemen journalists photographers
    paparazzi commuters pedestrians onlookers bystanders mourners partygoers revelers employees
    businessmen executives athletes teammates jocks nerds dropouts punks skaters skateboarders
    bikers hippies cowboys knights warriors zombies attendants technicians scientists engineers
    mechanics jurors classmates dudes crewmen hikers diners gamblers hostages refugees survivors
    civilians recruits cadets convicts vendors peasants servants krishnas stewards scouts
    """
)
# Collective words that introduce a crowd noun: "a crowd of REPORTERS".
CROWD_LEADS = _words("crowd group swarm bunch gaggle throng line team mob horde handful dozens hundreds")
GROUP_CUE_WORDS = _words(
    "BOTH ALL EVERYONE EVERYBODY CROWD OTHERS TOGETHER GROUP CHORUS CLASS AUDIENCE VARIOUS UNISON OMNES"
)
# Speakers that are devices or disembodied voices: heard, never seen, so no visual asset.
DEVICE_CUES = _words(
    """
    RADIO TV TELEVISION INTERCOM LOUDSPEAKER SPEAKER SPEAKERPHONE PHONE TELEPHONE COMPUTER
    RECORDING TAPE TOWER VOICE VOICES VOICEMAIL P.A. PA
    """
)
HONORIFICS = _words(
    """
    MR. MRS. MS. MISS DR. DOCTOR CAPTAIN CAPT. LIEUTENANT LT. SERGEANT SGT. OFFICER DETECTIVE
    AGENT SISTER FATHER BROTHER PROFESSOR PROF. COACH JUDGE SENATOR PRESIDENT GENERAL COLONEL
    MAJOR UNCLE AUNT REVEREND SIR LADY LORD NURSE STEWARDESS
    """
)
# Colour words and the form they are compared in.
COLOURS: dict[str, str] = {
    **{word: word for word in _words("red blue green yellow black white brown orange purple pink silver")},
    **{word: word for word in _words("navy crimson maroon beige teal violet scarlet khaki ivory turquoise")},
    "grey": "grey",
    "gray": "grey",
    "gold": "gold",
    "golden": "gold",
    "blond": "blonde",
    "blonde": "blonde",
}
# Things a character wears or has: only these carry a colour that is the character's own.
APPEARANCE_NOUNS = _words(
    """
    coat jacket shirt t-shirt blouse dress skirt pants trousers jeans shorts suit tie scarf hat cap
    beanie helmet hood hoodie sweater sweatshirt cardigan vest uniform gown robe shoes boots
    sneakers sandals heels gloves socks hair wig beard mustache moustache eyes lipstick makeup
    glasses sunglasses backpack bag purse belt apron overalls jumpsuit tuxedo bandana headband
    sweatbands
    """
)
# Words that make a sentence worth quoting in a visual description.
VISUAL_WORDS = _words(
    """
    wears wearing wore dressed clad hair eyes tall short thin fat skinny stocky old young aged
    beard bearded glasses suit uniform face scar tattoo handsome beautiful pretty ugly muscular
    bald thirties forties fifties sixties twenties teens teenager battered shiny rusty
    gleaming huge tiny massive enormous
    """
)
# Conjunctions and relatives that start a list or a clause rather than describe a name.
NOT_APPOSITIVE = _words("and or but then so as while who which that")
# Pronounceable acronyms that the no-vowel rule misses.
KNOWN_ACRONYMS = _words("SUV ICBM GTI AK IV UFO FBI CIA ATM USB GPS MRI ICU ER ATV RV BMW OK")
# Nouns a crowd word commonly qualifies: "police car", "passenger seats".
CROWD_QUALIFIED = _words("CAR CARS STATION TAPE SIREN SIRENS RADIO UNIFORM UNIFORMS BADGE LINE SEATS")
# Verbs whose object a character handles: "picks up the phone", "hands him a letter". Base forms;
# regular inflections are derived, irregular ones listed below.
HANDLING_VERBS = _words(
    """
    pick grab hold hand give take carry open close pull push put drop throw toss read drink sip eat
    pour light fire aim point wave lift raise place examine show reveal unwrap pocket slip slide shove
    fumble clutch grip swing play strum dial answer load cock wipe fold tear rip sign stamp seal lick
    glue paste pass offer produce retrieve fetch collect gather pack unpack fill empty spill smash
    break shake squeeze stuff stash hide clutch brandish wield unfold unzip zip remove tuck
    count flip flick check inspect study scan kiss hug cradle rock snatch steal swipe return deliver
    mail post buy sell drag haul lug shoulder juggle catch toss hurl pitch plant set lay lean prop
    tap pat stroke rub clean polish sharpen load unload strap buckle button tie untie wrap bag box
    """
)
IRREGULAR_HANDLING: dict[str, str] = {
    "took": "take",
    "taken": "take",
    "held": "hold",
    "gave": "give",
    "given": "give",
    "threw": "throw",
    "thrown": "throw",
    "drank": "drink",
    "drunk": "drink",
    "ate": "eat",
    "eaten": "eat",
    "lit": "light",
    "shook": "shake",
    "tore": "tear",
    "torn": "tear",
    "wore": "wear",
    "worn": "wear",
    "caught": "catch",
    "stole": "steal",
    "stolen": "steal",
    "hid": "hide",
    "hidden": "hide",
    "slid": "slide",
    "swung": "swing",
    "brought": "bring",
    "bring": "bring",
    "brings": "bring",
    "bringing": "bring",
    "bought": "buy",
    "sold": "sell",
    "laid": "lay",
    "broke": "break",
    "broken": "break",
    "dug": "dig",
    "drew": "draw",
    "draws": "draw",
    "draw": "draw",
    "drawing": "draw",
    "flung": "fling",
    "hurled": "hurl",
}
# Nouns too generic to be a prop whatever WordNet says of them.
GENERIC_THINGS = _words(
    """
    thing things stuff object item piece part set side end top bottom front back edge corner area
    spot place unit kind sort type lot bit stuff device article material contents content load
    cover covering handle surface line mark sign point tip base frame panel rest middle center
    centre half pair couple series row pile stack bunch heap collection group number ground floor
    air sky water light
    """
)
