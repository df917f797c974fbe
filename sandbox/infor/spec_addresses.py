"""M3 MI signatures of the customer-address transactions of CRS610MI the sandbox emulates
('Customer. Connect Addresses', OIS002), which ``m3_transactions.txt`` lists but does not
detail. Extracted like ``spec_logistics.py``, from the public "InforM3MIv2" swagger file of
CRS610MI in Mohammad-Alhasan/inforion (src/inforion/excelexport/api-files/, file in
``SOURCES``): input fields as ``(name, max length, required, description)``, output fields
likewise. The three transactions share the address fields of ``OCUSAD``: each field's
length and description are given once (``FIELDS``, as the swagger file gives them) and each
transaction lists its fields in the file's order. ``core`` merges them into CRS610MI.
"""

SOURCES = {'CRS610MI': 'InforM3MIv2 - 2020-06-17T132759.773.json'}

TITLES = {'CRS610MI': 'Customer interface'}

# name -> (max length, description)
FIELDS = {
    'CONO': (3, 'Company'), 'DIVI': (3, 'Division'), 'CUNO': (10, 'Customer number'),
    'CUNM': (36, 'Customer name'), 'ADRT': (2, 'Address type'), 'ADID': (6, 'Address number'),
    'CUA1': (36, 'Customer address 1'), 'CUA2': (36, 'Customer address 2'),
    'CUA3': (36, 'Customer address 3'), 'CUA4': (36, 'Customer address 4'),
    'PONO': (10, 'postal code'), 'ADVI': (6, 'Via address'), 'EALO': (13, 'EAN location code'),
    'ECAR': (2, 'Area/state'), 'RONO': (3, 'Run'), 'DEPE': (6, 'Departure'),
    'MODL': (3, 'Delivery method'), 'TEDL': (3, 'Term of delivery'), 'TEL2': (36, 'Terms text'),
    'PHNO': (16, 'Telephone number 1'), 'TFNO': (16, 'Facsimile number'),
    'YREF': (30, 'Your reference'), 'LSID': (8, 'User'), 'LSAD': (8, 'Address'),
    'MEAL': (10, 'Valid media'), 'CSCD': (3, 'Country'), 'VRNO': (16, 'VAT registration number'),
    'EDES': (3, 'Place-replaced by EDE2'), 'ROUT': (6, 'Route'), 'RODN': (3, 'Route departure'),
    'ULZO': (5, 'Unloading zone'), 'CESA': (32, 'Marketing ID in Movex SMS'),
    'GEOC': (9, 'Geographic code'), 'TAXC': (3, 'Tax code'), 'HAFE': (6, 'Harbour or airport'),
    'EDE2': (10, 'Place'), 'TOWN': (20, 'City'), 'GEOX': (17, 'Geographic cod X'),
    'GEOY': (17, 'Geographic code Y'), 'GEOZ': (17, 'Geographic cod  Z'),
    'FVDT': (10, 'Valid from'), 'LVDT': (10, 'Valid to'), 'FRCO': (7, 'County ID'),
    'RASN': (10, 'Rail station'), 'SPLE': (10, 'Standard point location code'),
    'PRIO': (1, 'Priority'), 'ADCG': (15, 'Address category'), 'SPLM': (8, 'Supply model'),
    'TXCO': (40, 'County'), 'CHNO': (3, 'Change number'), 'LMTS': (18, 'Timestamp'),
}


def _fields(names: str, required: str = '') -> list[tuple[str, int, bool, str]]:
    needed = required.split()
    return [(name, FIELDS[name][0], name in needed, FIELDS[name][1]) for name in names.split()]


# The address record as GetAddress and LstAddresses return it (LstAddresses adds the
# geographic codes, GetAddress the standard point location and change number).
_ADDRESS_HEAD = 'CONO DIVI CUNO CUNM ADRT ADID CUA1 CUA2 CUA3 CUA4 PONO ADVI EALO ECAR RONO DEPE'
_ADDRESS_BODY = ('MODL TEDL TEL2 PHNO TFNO YREF LSID LSAD MEAL CSCD VRNO EDES ROUT RODN ULZO '
                 'CESA GEOC TAXC HAFE EDE2 TOWN')

TRANSACTIONS = {'CRS610MI': {
    'AddAddress': {
        'in': _fields('CUNO ADRT ADID CUA1 PONO CSCD TOWN CONO DIVI CUNM CUA2 CUA3 CUA4 ADVI '
                      'EALO ECAR RONO DEPE MODL TEDL TEL2 PHNO TFNO YREF LSID LSAD MEAL VRNO '
                      'EDES ROUT RODN ULZO CESA GEOC TAXC HAFE EDE2 GEOX GEOY GEOZ FVDT LVDT '
                      'FRCO RASN SPLE PRIO ADCG SPLM',
                      required='CUNO ADRT ADID CUA1 PONO CSCD TOWN'),
        'out': [('CONO', 3, False, 'Company'), ('CUNO', 10, False, 'Customer'),
                ('ADRT', 2, False, 'Address type'), ('ADID', 6, False, 'Address number')],
    },
    'GetAddress': {
        'in': _fields('CUNO ADRT ADID CONO', required='CUNO ADRT ADID'),
        'out': _fields(f'{_ADDRESS_HEAD} {_ADDRESS_BODY} FVDT LVDT FRCO RASN ADCG SPLE TXCO '
                       'PRIO CHNO'),
    },
    'LstAddresses': {
        'in': _fields('CUNO CONO LMTS ADRT', required='CUNO'),
        'out': _fields(f'{_ADDRESS_HEAD} {_ADDRESS_BODY} GEOX GEOY GEOZ FVDT LVDT FRCO RASN '
                       'ADCG TXCO PRIO'),
    },
}}
