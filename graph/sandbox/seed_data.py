"""Static material for the sandbox seed: people's names, departments and titles, offices, groups, the
demo tenants. Names are of varied origins so that sorting, searching and accents get exercised."""

from __future__ import annotations

FIRST_NAMES = (
    "Aaliyah Aarav Abdul Ada Adebayo Adriana Ahmed Aiko Aisha Akira Alejandro Aleksandra Alexei Ali Alice "
    "Amara Amelia Amir Ana Anders Andrea Andrés Ángel Anika Anna Annika Antoine Anya Arjun Astrid Aylin Ayumi "
    "Bao Beatriz Ben Bianca Björn Bogdan Bruno Camila Carlos Carmen Catalina Chen Chidi Chloé Chloe Clara "
    "Daan Dalia Daniel Daniela Darius Dawit Diego Dmitri Duc Efua Elena Elif Elijah Elin Emeka Emil Emily "
    "Emma Emre Enzo Erik Esther Ethan Eva Farah Fatima Felipe Femi Finn Fiona Francesca François Freya "
    "Gabriel Gabriela Giulia Grace Guillermo Hamza Hana Hannah Haruto Hassan Helena Henrik Hiroshi Hugo "
    "Ibrahim Ifeoma Ingrid Ioana Isabel Isabella Ivan Jack Jakub Jamal Jana Javier Jia Jin João Jonas Jorge "
    "José Joshua Julia Julien Kai Kamala Karim Katarzyna Kavya Kenji Khadija Kim Kofi Laila Lars Laura Layla "
    "Leila Leon Liam Lina Lucas Lucía Luis Luka Maja Malik Manon Marco María Mariam Marta Mateo Matteo Maya "
    "Mehmet Mei Mia Miguel Mikael Milan Min-jun Mohammed Nadia Naveen Nia Nikolai Nina Noah Nora Obinna Olga "
    "Oliver Olivia Omar Oscar Paolo Patrícia Paul Pedro Pieter Priya Quentin Rafael Rahul Ravi Rebecca Riya "
    "Rosa Ruth Sakura Samir Santiago Sara Sebastián Seo-yeon Sofia Sophie Sven Tariq Thabo Thomas Tomás "
    "Tunde Valentina Vera Victor Wei Wiktoria Xavier Yara Yasmin Yuki Yusuf Zainab Zara Zoë Zoltán"
).split()

LAST_NAMES = (
    (
        "Abe Adeyemi Ahmadi Akhtar Almeida Andersen Andersson Antonelli Bakker Banerjee Barros Becker Bergström "
        "Bianchi Brown Bui Campbell Cao Carvalho Castillo Chakraborty Chang Chaudhry Chen Cho Costa Cruz Dang "
        "Das Dubois Dumont Eriksen Esposito Evans Fernández Fischer Fontaine Forsberg Fujita Garcia García Gonzalez "
        "Gruber Gupta Haddad Hansen Hashemi Herrera Hoffmann Horvát Hosseini Huang Hughes Ibrahim Ito Ivanova "
        "Jansen Jensen Johansson Johnson Jovanović Kaya Kelly Khan Kim Kobayashi Kowalski Kozlov Kumar Lambert "
        "Larsen Laurent Lee Lehmann Li Lim Lindqvist Liu Lopez López Lund MacDonald Mahmoud Martin Martínez Meyer "
        "Mendes Mensah Moreau Morales Müller Murphy Nakamura Nguyen Nielsen Novák Nowak Nunes Obi O'Brien Okafor "
        "Okonkwo Olsen Oliveira Owusu Özdemir Park Patel Pereira Petrov Pham Popescu Qureshi Ramírez Rao Reddy "
        "Richter Rivera Rodrigues Romano Rossi Russo Said Saito Sánchez Santos Schmidt Schneider Schulz Shah "
        "Sharma Silva Singh Smith Sokolov Suzuki Svensson Takahashi Tanaka Tran Van der Berg Varga Vasquez "
        "Vogel Wagner Walker Wang Weber Williams Wilson Wójcik Wright Wu Xu Yamamoto Yang Yıldız Yilmaz Zhang "
        "Zhou Zimmermann"
    )
    .replace("Van der Berg", "Van-der-Berg")
    .split()
)

# department -> job titles (the first one is the most common)
DEPARTMENTS = {
    "Sales": ["Account Executive", "Sales Representative", "Sales Manager", "Inside Sales Specialist"],
    "Marketing": ["Marketing Specialist", "Content Strategist", "Marketing Manager", "Brand Designer"],
    "Finance": ["Accountant", "Financial Analyst", "Finance Manager", "Accounts Payable Clerk"],
    "Human Resources": ["HR Advisor", "Recruiter", "HR Business Partner", "People Operations Lead"],
    "IT": ["Service Desk Analyst", "Systems Administrator", "Network Engineer", "IT Manager"],
    "Operations": [
        "Operations Coordinator",
        "Logistics Planner",
        "Warehouse Supervisor",
        "Operations Manager",
    ],
    "Engineering": ["Software Engineer", "Senior Software Engineer", "QA Engineer", "Engineering Manager"],
    "Customer Service": [
        "Customer Service Agent",
        "Support Specialist",
        "Team Lead",
        "Customer Success Manager",
    ],
    "Legal": ["Paralegal", "Legal Counsel", "Compliance Officer"],
    "Executive": [
        "Chief Executive Officer",
        "Chief Financial Officer",
        "Chief Operating Officer",
        "Executive Assistant",
    ],
}
DEPARTMENT_WEIGHTS = {
    "Sales": 18, "Marketing": 8, "Finance": 8, "Human Resources": 5, "IT": 7, "Operations": 16,
    "Engineering": 14, "Customer Service": 16, "Legal": 3, "Executive": 2,
}  # fmt: skip

# offices: (officeLocation, streetAddress, city, state, postalCode, country, usageLocation, phone prefix)
OFFICES = {
    "GB": [
        (
            "London HQ",
            "1 Finsbury Avenue",
            "London",
            "England",
            "EC2M 2PF",
            "United Kingdom",
            "GB",
            "+44 20 7946",
        ),
        (
            "Manchester",
            "3 Hardman Street",
            "Manchester",
            "England",
            "M3 3HF",
            "United Kingdom",
            "GB",
            "+44 161 496",
        ),
        (
            "Edinburgh",
            "50 Lothian Road",
            "Edinburgh",
            "Scotland",
            "EH3 9WJ",
            "United Kingdom",
            "GB",
            "+44 131 496",
        ),
    ],
    "US": [
        ("Seattle HQ", "1200 Fifth Avenue", "Seattle", "WA", "98101", "United States", "US", "+1 206 555"),
        ("Chicago", "233 S Wacker Drive", "Chicago", "IL", "60606", "United States", "US", "+1 312 555"),
        ("Austin", "500 W 2nd Street", "Austin", "TX", "78701", "United States", "US", "+1 512 555"),
        ("Toronto", "100 King Street West", "Toronto", "ON", "M5X 1A9", "Canada", "CA", "+1 416 555"),
    ],
    "NL": [
        (
            "Amsterdam",
            "Gustav Mahlerlaan 10",
            "Amsterdam",
            "Noord-Holland",
            "1082 PP",
            "Netherlands",
            "NL",
            "+31 20 794",
        ),
        (
            "Rotterdam",
            "Wilhelminakade 91",
            "Rotterdam",
            "Zuid-Holland",
            "3072 AP",
            "Netherlands",
            "NL",
            "+31 10 794",
        ),
    ],
    "DE": [
        ("München", "Leopoldstraße 8", "München", "Bayern", "80802", "Germany", "DE", "+49 89 5550"),
        ("Berlin", "Friedrichstraße 68", "Berlin", "Berlin", "10117", "Germany", "DE", "+49 30 5550"),
    ],
    "AU": [
        ("Sydney", "1 Martin Place", "Sydney", "NSW", "2000", "Australia", "AU", "+61 2 5550"),
        ("Melbourne", "101 Collins Street", "Melbourne", "VIC", "3000", "Australia", "AU", "+61 3 5550"),
    ],
}
MOBILE_PREFIX = {"GB": "+44 7700 900", "US": "+1 425 555", "CA": "+1 647 555", "NL": "+31 6 1234",
                 "DE": "+49 151 5550", "AU": "+61 491 570"}  # fmt: skip
PREFERRED_LANGUAGE = {
    "GB": "en-GB",
    "US": "en-US",
    "CA": "en-CA",
    "NL": "nl-NL",
    "DE": "de-DE",
    "AU": "en-AU",
}

# Companies whose people turn up as B2B guests; a tenant never invites from its own domain.
GUEST_DOMAINS = (
    "fabrikam.com",
    "adatum.com",
    "litwareinc.com",
    "wingtiptoys.com",
    "gmail.com",
    "outlook.com",
)

SHARED_MAILBOXES = (
    ("info", "Info"),
    ("accounts", "Accounts"),
    ("reception", "Reception"),
    ("careers", "Careers"),
)

ADMIN_ROLES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
}
ROLE_DESCRIPTIONS = {
    "Global Administrator": "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    "User Administrator": "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    "Exchange Administrator": "Can manage all aspects of the Exchange product.",
    "Privileged Role Administrator": "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
    "Authentication Administrator": "Can access to view, set and reset authentication method information for any non-admin user.",
    "Helpdesk Administrator": "Can reset passwords for non-administrators and Helpdesk Administrators.",
    "Privileged Authentication Administrator": "Can access to view, set and reset authentication method information for any user (admin or non-admin).",
}

TAP_ENABLED = {
    "state": "enabled",
    "defaultLifetimeInMinutes": 60,
    "minimumLifetimeInMinutes": 60,
    "maximumLifetimeInMinutes": 480,
    "isUsableOnce": False,
    "defaultLength": 8,
}
TAP_DISABLED = {**TAP_ENABLED, "state": "disabled"}

# Licence mix per tenant: (part number, share of licensable members or "addon:<probability>", spare units).
# A share row gives the user a primary licence; add-ons come on top. spare=None means a free "viral" SKU
# with Microsoft's usual 10,000 prepaid units; spare=0 means fully consumed ("no units left"): every demo
# customer has one such SKU, so Add user's "no units left" refusal can be seen.
PARTNER = {
    "key": "partner",
    "display_name": "Contoso MSP (sandbox partner)",
    "initial_domain": "contosomsp.onmicrosoft.com",
    "custom_domains": [],
    "country": "GB",
    "users": 6,
    "hybrid_share": 0.0,
    "licences": [("SPB", 1.0, 4)],
    "settings": {"tapPolicy": TAP_ENABLED, "passwordPolicy": {"minimumLength": 14}},
}

DEMO_CUSTOMERS = [
    {
        "key": "northwind",
        "display_name": "Northwind Traders",
        "initial_domain": "northwindtraders.onmicrosoft.com",
        "custom_domains": ["northwindtraders.com", "northwind.co.uk"],
        "country": "GB",
        "users": 40,
        "hybrid_share": 0.0,
        "licences": [("SPB", 0.8, 3), ("EXCHANGESTANDARD", 0.12, 0), ("POWER_BI_STANDARD", "addon:0.3", None)],
        "settings": {"tapPolicy": TAP_ENABLED, "passwordPolicy": {"minimumLength": 12}},
        "features": {"forwarding": True},
    },
    {
        "key": "fabrikam",
        "display_name": "Fabrikam Inc",
        "initial_domain": "fabrikaminc.onmicrosoft.com",
        "custom_domains": ["fabrikam.com"],
        "country": "US",
        "users": 250,
        "hybrid_share": 0.9,
        "on_premises_domain": "corp.fabrikam.com",
        "licences": [("SPE_E5", 0.15, 5), ("SPE_E3", 0.7, 12), ("EXCHANGESTANDARD", 0.08, 0),
                     ("FLOW_FREE", "addon:0.2", None)],
        "settings": {"passwordPolicy": {"minimumLength": 14}},
        "features": {"auto_reply": True, "huge_mailbox": True},
    },
    {
        "key": "tailspin",
        "display_name": "Tailspin Toys",
        "initial_domain": "tailspintoys.onmicrosoft.com",
        "custom_domains": ["tailspintoys.com"],
        "country": "AU",
        "users": 12,
        "hybrid_share": 0.0,
        "licences": [("O365_BUSINESS_PREMIUM", 0.85, 0), ("FLOW_FREE", "addon:0.25", None)],
        "settings": {"tapPolicy": TAP_DISABLED, "passwordPolicy": {"minimumLength": 8}},
        "features": {},
    },
]  # fmt: skip


def scale_customer(index: int, users: int) -> dict:
    """The spec of the index-th load-test tenant (``--tenants M --users N``)."""
    number = f"{index + 1:03d}"
    return {
        "key": f"scale-{number}",
        "display_name": f"Load Test Tenant {number}",
        "initial_domain": f"loadtest{number}.onmicrosoft.com",
        "custom_domains": [f"loadtest{number}.example.com"],
        "country": ("US", "GB", "NL", "DE", "AU")[index % 5],
        "users": users,
        "hybrid_share": 0.5 if index % 2 else 0.0,
        "on_premises_domain": f"ad.loadtest{number}.example.com",
        "licences": [("SPE_E3", 0.7, 25), ("ENTERPRISEPREMIUM", 0.1, 10), ("EXCHANGESTANDARD", 0.1, 10),
                     ("FLOW_FREE", "addon:0.1", None)],
        "settings": {"passwordPolicy": {"minimumLength": 12}},
        "features": {},
        "scale": True,
    }  # fmt: skip
